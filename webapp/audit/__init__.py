"""The audit log for auditors and administrators: events in their scope, filtered, paged, exported."""
