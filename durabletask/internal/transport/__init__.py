"""Transport: host addresses, channel creation, error translation, streams and backoff."""
