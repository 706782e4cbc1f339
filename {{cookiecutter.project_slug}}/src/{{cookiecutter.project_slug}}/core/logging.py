"""structlog configuration shared by the API{% if cookiecutter.include_celery == 'y' %} and the worker{% endif %} (S14), in structlog's documented stdlib integration.

Application code logs through `structlog.get_logger(__name__)`. Every line, ours or a library's
(uvicorn, asyncpg, httpx{% if cookiecutter.include_celery == 'y' %}, celery{% endif %}), ends in one standard-library handler whose `ProcessorFormatter`
redacts and renders it, so every line has the same shape and carries the values bound with
`structlog.contextvars` (the request id). Sentry's logging integration sees ERROR lines there.
"""

import io
import logging
import sys
from typing import TextIO

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


def _redact_exception_text(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """Secrets out of a traceback once it is text (format_exc_info has just made it)."""
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = redact_text(event_dict["exception"])
    return event_dict


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the root logger; safe to call again (tests build many apps)."""
    renderer: Processor
    if settings.effective_log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        exception_processors: list[Processor] = [
            structlog.processors.format_exc_info,
            _redact_exception_text,
        ]
    else:
        # Plain tracebacks, named explicitly: structlog's default switches to rich's when rich is
        # installed (schemathesis brings it), which prints local variables and reads source
        # files on the event loop.
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=_redacting(structlog.dev.plain_traceback)
        )
        exception_processors = []

    # The same structlog configuration every time, so cached loggers stay valid: what varies
    # (format, level) lives in the handler and the root logger below. Lines are redacted before
    # they become standard-library records, so Sentry's logging integration sees them redacted;
    # the traceback is kept as exc_info and redacted once it is rendered.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            redact_secrets,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # Other libraries' records: the same shape and the same redaction as ours.
            foreign_pre_chain=[*_SHARED_PROCESSORS, redact_secrets],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *exception_processors,
                renderer,
            ],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace our previous handler, keep anyone else's (pytest's log capture, for one).
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(settings.log_level)

    # uvicorn installs its own handlers and levels; send its records to the root handler, at
    # the root's level, instead. Access lines come from our middleware, which knows the request
    # id, so uvicorn's are switched off.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
