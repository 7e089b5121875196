"""Optional extensions of the Durable Task SDK (history export, Azure Blob payloads);
each may need an extra to be installed."""
