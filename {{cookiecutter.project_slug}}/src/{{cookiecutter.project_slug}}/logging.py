"""structlog configuration shared by the API{% if cookiecutter.include_celery == 'y' %} and the worker{% endif %} (S14).

Application code logs through `structlog.get_logger()`; the standard library's loggers (uvicorn,
asyncpg, httpx{% if cookiecutter.include_celery == 'y' %}, celery{% endif %}) are routed through the same processors, so every line has the same
shape and carries the values bound with `structlog.contextvars` (the request id).
"""

import logging
import sys

import structlog
from structlog.typing import Processor

from {{ cookiecutter.project_slug }}.config import Settings

_HANDLER_NAME = "{{ cookiecutter.project_slug }}"
_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the root logger; safe to call again (tests build many apps)."""
    renderer: Processor
    if settings.effective_log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        exception_processors: list[Processor] = [structlog.processors.format_exc_info]
    else:
        renderer = structlog.dev.ConsoleRenderer()
        exception_processors = []

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
