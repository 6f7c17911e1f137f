"""Outgoing webhooks (docs/api.md, "Webhooks"): signed, retried, logged, replayable, and
never sent inside our own network unless an admin allows it (``ssrf.py``)."""
