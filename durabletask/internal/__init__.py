"""Private implementation of the SDK: nothing here is public API."""
