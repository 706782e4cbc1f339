"""Error reporting to Sentry, switched on by `SENTRY_DSN` alone.

Without a DSN the SDK is never initialised: no hooks, no background thread, no network. With
one, the API{% if cookiecutter.include_celery == 'y' %} and the worker report{% else %} reports{% endif %} unhandled exceptions and ERROR log lines, tagged with
the environment, the release and the request id, and sample `SENTRY_TRACES_SAMPLE_RATE` of
requests as performance traces. Events are sent by the SDK's own thread, never on the event loop.
"""

import sentry_sdk
import structlog
from sentry_sdk.integrations import Integration
{%- if cookiecutter.include_celery == 'y' %}
from sentry_sdk.integrations.celery import CeleryIntegration
{%- endif %}
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.types import Event, Hint

from {{ cookiecutter.project_slug }}.core.logging import REQUEST_ID
from {{ cookiecutter.project_slug }}.core.settings import Settings

# Bound for structlog per request{% if cookiecutter.include_celery == 'y' %} and per task{% endif %}: a report then leads to its log lines.
LOG_CONTEXT_TAGS = {% if cookiecutter.include_celery == 'y' %}(REQUEST_ID, "task_id"){% else %}(REQUEST_ID,){% endif %}


def init_sentry(settings: Settings, version: str) -> bool:
    """Initialise the SDK once per process; return whether reporting is on."""
    if settings.sentry_dsn is None:
        return False
    dsn = str(settings.sentry_dsn)
    client = sentry_sdk.get_client()
    if client.is_active() and client.dsn == dsn:
        return True  # create_app may run more than once in a process
    integrations: list[Integration] = [
        StarletteIntegration(),
        FastApiIntegration(),
{%- if cookiecutter.include_celery == 'y' %}
        CeleryIntegration(),  # in the worker: task errors; in the API: traces follow the task
{%- endif %}
    ]
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.environment.value,
        release=f"{{ cookiecutter.project_slug }}@{version}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        integrations=integrations,
        before_send=_tag_with_log_context,
        # Personal data stays out: the SDK's default sends no cookies, user ids or IP addresses
        # and filters auth headers. Frames' local variables and request bodies would carry
        # passwords and tokens past that filter (an ASGI scope holds the raw headers), so
        # neither is sent.
        include_local_variables=False,
        max_request_body_size="never",
    )
    return True


def _tag_with_log_context(event: Event, hint: Hint) -> Event:
    # Runs where the error was captured, so the values bound for this request are visible.
    context = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for key in LOG_CONTEXT_TAGS:
        if context.get(key) is not None:
            tags[key] = str(context[key])
    return event
