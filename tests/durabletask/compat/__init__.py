"""Compatibility tests: wire contract, public API surface and import direction."""
