"""Sign-up, login and the current-user dependency."""
