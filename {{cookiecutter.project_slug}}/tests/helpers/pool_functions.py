"""Functions tests run in a process pool.

A pool process imports the module of the function it runs: this one imports nothing heavy, so
a new pool process starts quickly.
"""

import time


def pause(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
