"""Optional extensions of the Durable Task SDK (each may need an extra to be installed)."""
