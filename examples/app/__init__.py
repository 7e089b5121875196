"""A small application: a long-running worker process and a separate client process."""
