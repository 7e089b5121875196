"""Optional extensions of the Durable Task SDK (history export, Azure Blob payloads)."""
