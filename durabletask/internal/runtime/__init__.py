"""Worker runtime: the event-loop thread and the execution of work items."""
