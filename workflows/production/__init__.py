"""Running in production (issue #9): worker heartbeats, the figures /metrics and /healthz read, the consistency
check operators run (`canbo check`), SQLite backups and JSON log lines. No Flask here."""
