"""Long-running jobs: queued by the API, run by the Celery worker, polled by the client."""
