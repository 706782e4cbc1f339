"""Login sessions: one per login on a device, kept going with refresh tokens."""
