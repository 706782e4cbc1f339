"""structlog configuration shared by the API{% if cookiecutter.include_celery == 'y' %} and the worker{% endif %} (S14).

Application code logs through `structlog.get_logger(__name__)`; the standard library's loggers
(uvicorn, asyncpg, httpx{% if cookiecutter.include_celery == 'y' %}, celery{% endif %}) are routed through the same processors, so every line has the
same shape and carries the values bound with `structlog.contextvars` (the request id).
"""

import io
import logging
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, ExceptionRenderer, ExcInfo, Processor, WrappedLogger

from {{ cookiecutter.project_slug }}.config import Settings

_HANDLER_NAME = "{{ cookiecutter.project_slug }}"
_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


# --- Secret redaction: applied to every line, whatever logged it (README, "Production checklist").
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
# Each part as a key may spell it in text: "_" as "_", "-" or nothing ("api-key", "apikey").
_KEY_SPELLINGS = sorted(
    {
        spelling
        for part in SENSITIVE_KEY_PARTS
        for spelling in (part, part.replace("_", "-"), part.replace("_", ""))
    }
)
_KEY_PATTERN = "|".join(re.escape(spelling) for spelling in _KEY_SPELLINGS)
# Inside free text: `Bearer <token>`, `password=...`, `"api_key": "..."`, `user:pass@` in URLs.
# Each pattern starts at a fixed token (a keyword, "://"), so a long input costs linear time.
_TEXT_PATTERNS = [
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), rf"\1 {REDACTED}"),
    (
        re.compile(rf"(?i)((?:{_KEY_PATTERN})[\w-]*[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;)}}\]]+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+@"), rf"\1{REDACTED}@"),
]


# Every pattern above starts at one of these words, so a text holding none of them has nothing
# to redact and the patterns run rarely. For ASCII text (nearly every value) substring tests on
# the lowercased text decide, about ten times cheaper than the case-insensitive scan that
# decides for other text: `(?i)` also matches non-ASCII letters (the dotless i, the long s).
_TRIGGER_WORDS = ("bearer", "://", *_KEY_SPELLINGS)
_MIGHT_HOLD_A_SECRET = re.compile("(?i)" + "|".join(re.escape(word) for word in _TRIGGER_WORDS))
# Values redaction leaves alone without looking: they cannot hold a secret.
_SCALARS = (int, float, bool, type(None))


@lru_cache(maxsize=1024)  # keys repeat from line to line; bounded, as callers choose them
def _is_sensitive(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return any(part in name for part in SENSITIVE_KEY_PARTS)


def _might_hold_a_secret(text: str) -> bool:
    if not text.isascii():
        return _MIGHT_HOLD_A_SECRET.search(text) is not None
    lowered = text.lower()
    return any(word in lowered for word in _TRIGGER_WORDS)


def redact_text(text: str) -> str:
    if not _might_hold_a_secret(text):
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if _is_sensitive(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_redact(item) for item in value)
    if isinstance(value, list | set | frozenset):
        return [_redact(item) for item in value]
    return value


def _nothing_to_redact(event_dict: EventDict) -> bool:
    """True for the common line: no sensitive key, flat values, no text a pattern could match."""
    texts = []
    for key, value in event_dict.items():
        if _is_sensitive(key):
            return False
        if isinstance(value, str):
            texts.append(value)
        elif not isinstance(value, _SCALARS):
            return False
    return not _might_hold_a_secret("\n".join(texts))


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace the values of sensitive keys, at any depth, and secrets inside strings."""
    if _nothing_to_redact(event_dict):
        return event_dict
    return {
        # exc_info is rendered by the console renderer, through `_redacting`.
        key: value if key == "exc_info" else REDACTED if _is_sensitive(key) else _redact(value)
        for key, value in event_dict.items()
    }


def _redacting(formatter: ExceptionRenderer) -> ExceptionRenderer:
    """The console renderer's traceback formatter, with secrets taken out of its text."""

    def format_exception(sio: TextIO, exc_info: ExcInfo) -> None:
        buffer = io.StringIO()
        formatter(buffer, exc_info)
        sio.write(redact_text(buffer.getvalue()))

    return format_exception


# --- end of secret redaction


# --- Output. Lines from structlog below ERROR, the per-request ones, are rendered and written
# straight to our handler's stream: no `LogRecord`, half the cost of a line. Lines at ERROR and
# above go through the standard library like any other library's records, so that Sentry's
# logging integration (it hooks the standard library) reports them. Both end in the same
# handler, with the same processors, so every line has the same shape whichever way it came.
_LEVELS = structlog.processors.NAME_TO_LEVEL


@dataclass
class _Output:
    handler: logging.StreamHandler[TextIO]
    processors: list[Processor]  # after the shared ones: redaction and rendering
    min_level: int


_output: _Output | None = None  # set by `configure_logging`


@dataclass(frozen=True)
class _Named:
    """What a structlog logger wraps: only its name is used (`add_logger_name`)."""

    name: str


def _named(name: str = "") -> _Named:
    return _Named(name)


def _at_level(_logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The first processor: a line below the configured level costs nothing more."""
    if _output is None or _LEVELS.get(method, logging.ERROR) < _output.min_level:
        raise structlog.DropEvent
    return event_dict


def _write(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The last processor: the line is written here, so nothing is returned to the logger."""
    output = _output
    if output is None:  # not configured yet
        raise structlog.DropEvent
    level = _LEVELS.get(method, logging.ERROR)
    if level >= logging.ERROR:
        stdlib = logging.getLogger(logger.name)
        args, kwargs = structlog.stdlib.ProcessorFormatter.wrap_for_formatter(
            stdlib, method, event_dict
        )
        stdlib.log(level, *args, exc_info=event_dict.get("exc_info"), extra=kwargs["extra"])
        raise structlog.DropEvent
    line: Any = event_dict
    for processor in output.processors:
        line = processor(logger, method, line)
    handler = output.handler
    handler.acquire()  # the lock the standard library's lines are written under
    try:
        handler.stream.write(f"{line}\n")
        handler.flush()
    finally:
        handler.release()
    raise structlog.DropEvent


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the root logger; safe to call again (tests build many apps)."""
    global _output  # the one output of the process, replaced as a whole
    renderer: Processor
    if settings.effective_log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        # Tracebacks become a string field first, so redaction sees them.
        exception_processors: list[Processor] = [structlog.processors.format_exc_info]
    else:
        # Plain tracebacks, named explicitly: structlog's default switches to rich's when rich is
        # installed (schemathesis brings it), which prints local variables and reads source
        # files on the event loop (S1).
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=_redacting(structlog.dev.plain_traceback)
        )
        exception_processors = []
    final_processors = [*exception_processors, redact_secrets, renderer]

    # The same configuration every time, so loggers can keep it once used (cached): what varies
    # (format, level, stream) is read from `_output` at each line.
    structlog.configure(
        processors=[_at_level, *_SHARED_PROCESSORS, _write],
        logger_factory=_named,
        # Every level's method is live; `_at_level` filters on the configured level.
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *final_processors,
            ],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace our previous handler, keep anyone else's (pytest's log capture, for one).
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(settings.log_level)
    _output = _Output(handler, final_processors, logging.getLevelName(settings.log_level))

    # uvicorn installs its own handlers; send its records to the root handler instead. Access
    # lines come from our middleware, which knows the request id, so uvicorn's are switched off.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
