"""The audit trail: append-only events about accounts."""
