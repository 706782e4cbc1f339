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
from structlog.typing import ExceptionRenderer, ExcInfo, Processor

from {{ cookiecutter.project_slug }}.core.redaction import redact_secrets, redact_text
from {{ cookiecutter.project_slug }}.core.settings import Settings

_HANDLER_NAME = "{{ cookiecutter.project_slug }}"
REQUEST_ID = "request_id"  # the contextvar key every line of a request carries

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


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the root logger; safe to call again (tests build many apps)."""
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

    # The same structlog configuration every time, so cached loggers stay valid: what varies
    # (format, level) lives in the handler and the root logger below.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *exception_processors,
                redact_secrets,
                renderer,
            ],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace our previous handler, keep anyone else's (pytest's log capture, for one).
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(settings.log_level)

    # uvicorn installs its own handlers; send its records to the root handler instead. Access
    # lines come from our middleware, which knows the request id, so uvicorn's are switched off.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
