"""Error reporting to Sentry, switched on by `SENTRY_DSN` alone.

Without a DSN the SDK is never initialised: no hooks, no background thread, no network. With
one, the API{% if cookiecutter.include_celery == 'y' %} and the worker{% endif %} report unhandled exceptions (and ERROR log lines) tagged with
the environment and the release, and sample `SENTRY_TRACES_SAMPLE_RATE` of requests as traces.
"""

import sentry_sdk
from sentry_sdk.integrations import Integration
{%- if cookiecutter.include_celery == 'y' %}
from sentry_sdk.integrations.celery import CeleryIntegration
{%- endif %}
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration

from {{ cookiecutter.project_slug }}.config import Settings


def init_sentry(settings: Settings, version: str{% if cookiecutter.include_celery == 'y' %}, *, worker: bool = False{% endif %}) -> bool:
    """Initialise the SDK once per process; return whether reporting is on."""
    if settings.sentry_dsn is None:
        return False
    dsn = str(settings.sentry_dsn)
    client = sentry_sdk.get_client()
    if client.is_active() and client.dsn == dsn:
        return True  # create_app may run more than once in a process
    integrations: list[Integration] = [StarletteIntegration(), FastApiIntegration()]
{%- if cookiecutter.include_celery == 'y' %}
    if worker:
        integrations.append(CeleryIntegration())
{%- endif %}
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.environment.value,
        release=f"{{ cookiecutter.project_slug }}@{version}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        # No request bodies, cookies, user ids or IP addresses; auth headers are filtered.
        send_default_pii=False,
        integrations=integrations,
    )
    return True
