"""Optional extensions of the Durable Task SDK: history export, Azure Blob payloads.

Each may need an extra to be installed.
"""
