"""Prometheus metrics for the HTTP API: requests and their latency by method, route and status.

prometheus_client, recorded by `core.observability.ObservabilityMiddleware`, which already times
every request. Each app has its own `CollectorRegistry` (`app.state.metrics`), not the library's
global one, so building several apps in one process (the tests do) never registers a metric
twice. Labels stay few whatever clients send: the route is the template FastAPI matched
(`/audit-events/{event_id}`), never the raw path, and anything unknown shares one value.
"""

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"  # 404s and redirects: no route template to name
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LABELS = ("method", "route", "status")
# Seconds: prometheus_client's default buckets without 75 ms, 750 ms and 7.5 s (fewer series).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """The API's metrics and the registry `GET /metrics` serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            LABELS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to finishing its response, in seconds.",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER_METHOD
        # The router puts the matched route in the scope (a 405 names the route it matched).
        route = getattr(scope.get("route"), "path_format", None) or UNMATCHED_ROUTE
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)


def install_metrics(app: FastAPI) -> HttpMetrics:
    """Serve the app's metrics at `GET /metrics` (left out of the docs); return what to record into.

    `app.state.metrics.registry` is where a project registers metrics of its own.
    """
    metrics = app.state.metrics = HttpMetrics()

    # A `def` route, so it runs in the thread pool: rendering takes time in proportion to the
    # number of series and must not hold up the event loop.
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    return metrics
