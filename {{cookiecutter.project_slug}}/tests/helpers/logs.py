"""The type of the `log_events` fixture."""

from collections.abc import Callable
from typing import Any

LogEvents = Callable[[str], list[dict[str, Any]]]
