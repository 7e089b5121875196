"""Internals of the Durable Task Scheduler provider."""
