"""Outgoing email through the provider's HTTP API."""
