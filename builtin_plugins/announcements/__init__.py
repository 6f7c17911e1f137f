"""announcements: staff tell customers what is going on (see docs/announcements.md)."""
