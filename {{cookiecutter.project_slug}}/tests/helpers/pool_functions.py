"""Functions tests run in a process pool.

A pool process imports the module of the function it runs: this one imports nothing heavy, so
a new pool process starts quickly.
"""

import time
from pathlib import Path


def pause(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def wait_for(path: str, limit: float = 30) -> bool:
    """Hold a pool process until the test creates `path`: True, or False after `limit` seconds.

    A test that must see a call still running when something else happens releases it itself,
    instead of guessing how long the machine takes.
    """
    deadline = time.monotonic() + limit
    while not Path(path).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
