"""Our own tests of the official SDK 1.12.0 behaviours we match (facts, not their tests)."""
