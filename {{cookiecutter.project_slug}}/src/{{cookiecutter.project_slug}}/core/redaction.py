"""Secrets never reach a log line: a structlog processor applied to every line, whoever logged it.

Two kinds of redaction (README, "Production checklist"):
- the value of a key whose name looks sensitive (`password`, `token`, `api_key`, ...), at any
  depth of dicts and lists;
- secrets inside free text: `Bearer <token>`, `password=...`, `"api_key": "..."`, and the
  password in `scheme://user:password@host`.
"""

import re
from functools import lru_cache
from typing import Any

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[REDACTED]"
# A key is sensitive when its name (lowercase, "-" read as "_") contains one of these.
SENSITIVE_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "credential",
    "private_key",
)
# Free text may spell a key part's "_" as "_", "-" or nothing ("api_key", "api-key", "apikey").
_KEY_SPELLINGS = sorted(
    {
        spelling
        for part in SENSITIVE_KEY_PARTS
        for spelling in (part, part.replace("_", "-"), part.replace("_", ""))
    }
)
_KEY = "|".join(re.escape(spelling) for spelling in _KEY_SPELLINGS)
# Each pattern starts at a fixed word, and every repetition is bounded or consumes what the next
# one cannot, so a long hostile input costs linear time.
_TEXT_PATTERNS = [
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), rf"\1 {REDACTED}"),
    (
        re.compile(rf"(?i)((?:{_KEY})" + r"""[\w-]{0,64}["']?\s*[=:]\s*["']?)[^\s"'&,;)}\]]+"""),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+@"), rf"\1{REDACTED}@"),
]
# Every pattern above starts at one of these words: text holding none has nothing to redact.
_MIGHT_HOLD_A_SECRET = re.compile(rf"(?i)bearer|://|{_KEY}")


@lru_cache(maxsize=1024)  # keys repeat from line to line; bounded, as callers choose them
def is_sensitive(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return any(part in name for part in SENSITIVE_KEY_PARTS)


def redact_text(text: str) -> str:
    if _MIGHT_HOLD_A_SECRET.search(text) is None:
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """`value` with every secret in it replaced: strings, and containers at any depth."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if is_sensitive(k) else redact(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(redact(item) for item in value)
    if isinstance(value, list | set | frozenset):
        return [redact(item) for item in value]
    return value


def _needs_redaction(event_dict: EventDict) -> bool:
    """False for the common line: no sensitive key, flat values, and one scan of its text finds
    no trigger word."""
    texts = []
    for key, value in event_dict.items():
        if is_sensitive(key):
            return True
        if isinstance(value, str):
            texts.append(value)
        elif not isinstance(value, int | float | bool | None):
            return True  # a container (or exc_info): take the thorough path
    return _MIGHT_HOLD_A_SECRET.search("\n".join(texts)) is not None


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The processor: every value of the line, redacted (exc_info is redacted once rendered)."""
    if not _needs_redaction(event_dict):
        return event_dict
    return {
        key: value if key == "exc_info" else REDACTED if is_sensitive(key) else redact(value)
        for key, value in event_dict.items()
    }
