"""Use cases: identify, decide, dispense, recover. They orchestrate domain, store and
hardware, run on the backend worker thread, and know nothing of Qt."""
