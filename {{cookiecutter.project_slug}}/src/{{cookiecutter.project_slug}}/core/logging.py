"""structlog configuration shared by the API{% if cookiecutter.include_celery == 'y' %} and the worker{% endif %} (S14).

Application code logs through `structlog.get_logger(__name__)`; the standard library's loggers
(uvicorn, asyncpg, httpx{% if cookiecutter.include_celery == 'y' %}, celery{% endif %}) are routed through the same processors and the same handler, so every
line has the same shape and carries the values bound with `structlog.contextvars` (the request
id). Every line is redacted (`core.redaction`) before it is written.
"""

import io
import logging
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, ExceptionRenderer, ExcInfo, Processor, WrappedLogger

from {{ cookiecutter.project_slug }}.core.redaction import redact_secrets, redact_text
from {{ cookiecutter.project_slug }}.core.settings import Settings

_HANDLER_NAME = "{{ cookiecutter.project_slug }}"
# Context every line of a request carries (structlog contextvars).
REQUEST_ID = "request_id"
CLIENT_REQUEST_ID = "client_request_id"
USER_ID = "user_id"

# Run on every line before it is handed to the standard library, and on libraries' records.
_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def current_request_id() -> str | None:
    """The id of the request being served (bound by the observability middleware), if any."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return value if isinstance(value, str) else None


def _redacting(formatter: ExceptionRenderer) -> ExceptionRenderer:
    """The console renderer's traceback formatter, with secrets taken out of its text."""

    def format_exception(sio: TextIO, exc_info: ExcInfo) -> None:
        buffer = io.StringIO()
        formatter(buffer, exc_info)
        sio.write(redact_text(buffer.getvalue()))

    return format_exception


# Lines from structlog below ERROR, the per-request ones among them, are rendered and written
# straight to our handler's stream, without a standard-library LogRecord (bench/README.md,
# "Logging"). Lines at ERROR and above go through the standard library like any other library's
# records, so Sentry's logging integration (it hooks the standard library) reports them. Both
# end in the same handler with the same processors, so every line has the same shape.
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
        # Redacted before it becomes a record: Sentry reads the record as it is.
        event_dict = redact_secrets(logger, method, event_dict)
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
        # files on the event loop.
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

    # uvicorn installs its own handlers and levels; send its records to the root handler, at
    # the root's level, instead. Access lines come from our middleware, which knows the request
    # id, so uvicorn's are switched off.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
