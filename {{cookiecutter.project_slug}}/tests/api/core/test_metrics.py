"""GET /metrics: request counts and latencies labelled by method, route template and status."""

import asyncio
from uuid import uuid4

import httpx
from fastapi import APIRouter, BackgroundTasks, FastAPI
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.project_slug }}.core.metrics import OTHER_METHOD, UNMATCHED_ROUTE
from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory, serve
from tests.helpers.polling import eventually
from tests.helpers.routes import ITEMS_PATH, add_item_routes
from tests.helpers.users import UserFactory

Labels = tuple[str, str, str]  # method, route, status


async def scrape(client: httpx.AsyncClient, sample: str) -> dict[Labels, float]:
    """The values of one sample name in the exposition, keyed by (method, route, status)."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name == sample
    }


ITEM = {"name": "a thing"}


def add_crash_route(app: FastAPI) -> None:
    router = APIRouter()

    @router.get("/test/crash")
    async def crash() -> None:
        msg = "boom"
        raise RuntimeError(msg)

    app.include_router(router)


async def test_requests_to_different_ids_share_one_route_series(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    author = await make_user()
    async with client_for(settings, add_item_routes) as client:
        first = (await client.post(ITEMS_PATH, json=ITEM, headers=author.headers)).json()
        second = (await client.post(ITEMS_PATH, json=ITEM, headers=author.headers)).json()
        for item in (first, second, first):
            read = await client.get(f"{ITEMS_PATH}/{item['id']}", headers=author.headers)
            assert read.status_code == 200

        requests = await scrape(client, "http_requests_total")

    assert requests[("GET", ITEMS_PATH + "/{item_id}", "200")] == 3
    assert requests[("POST", ITEMS_PATH, "201")] == 2
    assert not [labels for labels in requests if first["id"] in labels[1]]


async def test_unknown_paths_collapse_into_one_label(client: httpx.AsyncClient) -> None:
    for path in ("/no/such/route", "/wp-admin.php", "/health/live/../../etc/passwd", "/x" * 50):
        assert (await client.get(path)).status_code == 404

    requests = await scrape(client, "http_requests_total")

    assert requests == {("GET", UNMATCHED_ROUTE, "404"): 4}


async def test_status_codes_are_labelled_per_route(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    author, stranger = await make_user(), await make_user()
    async with client_for(settings, add_item_routes) as client:
        item = (await client.post(ITEMS_PATH, json=ITEM, headers=author.headers)).json()
        await client.get(f"{ITEMS_PATH}/{item['id']}", headers=stranger.headers)  # 403
        await client.get(f"{ITEMS_PATH}/{uuid4()}", headers=author.headers)  # 404
        await client.get("/users/me")  # no token
        await client.post(ITEMS_PATH, json={"name": ""}, headers=author.headers)  # invalid
        await client.delete("/health/live")  # the route exists, the method does not

        requests = await scrape(client, "http_requests_total")

    assert requests[("GET", ITEMS_PATH + "/{item_id}", "403")] == 1
    assert requests[("GET", ITEMS_PATH + "/{item_id}", "404")] == 1
    assert requests[("GET", "/users/me", "401")] == 1
    assert requests[("POST", ITEMS_PATH, "422")] == 1
    assert requests[("DELETE", "/health/live", "405")] == 1


async def test_unhandled_exception_is_counted_as_500(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_crash_route) as client:
        assert (await client.get("/test/crash")).status_code == 500
        requests = await scrape(client, "http_requests_total")
    assert requests == {("GET", "/test/crash", "500"): 1}


async def test_made_up_methods_share_one_label(client: httpx.AsyncClient) -> None:
    await client.request("BREW", "/health/live")
    await client.request("PROPFIND", "/no/such/route")

    requests = await scrape(client, "http_requests_total")

    assert requests == {
        (OTHER_METHOD, "/health/live", "405"): 1,
        (OTHER_METHOD, UNMATCHED_ROUTE, "404"): 1,
    }


async def test_latency_histogram_counts_every_request(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await client.get("/health/live")).status_code == 200

    counts = await scrape(client, "http_request_duration_seconds_count")
    sums = await scrape(client, "http_request_duration_seconds_sum")
    response = await client.get("/metrics")
    buckets = [
        (s.labels["le"], s.value)
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name == "http_request_duration_seconds_bucket" and s.labels["route"] == "/health/live"
    ]

    live = ("GET", "/health/live", "200")
    assert counts[live] == 5
    assert sums[live] > 0
    assert buckets[-1] == ("+Inf", 5)
    assert [count for _, count in buckets] == sorted(count for _, count in buckets)  # cumulative


async def test_a_request_is_recorded_when_its_response_is_sent_not_after_its_background_work(
    settings: Settings,
) -> None:
    release = asyncio.Event()

    async def slow_background_work() -> None:
        await release.wait()

    def add_route(app: FastAPI) -> None:
        @app.get("/test/with-background-work")
        async def with_background_work(background: BackgroundTasks) -> dict[str, str]:
            background.add_task(slow_background_work)
            return {"status": "accepted"}

    app = create_app(settings)
    add_route(app)
    series = ("GET", "/test/with-background-work", "200")
    # A real server: in-process transports return only once the background work is done.
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        try:
            assert (await client.get(series[1])).status_code == 200

            async def recorded() -> bool:
                return (await scrape(client, "http_requests_total")).get(series) == 1

            await eventually(recorded)  # while the background work still waits for `release`
        finally:
            release.set()  # or the server would wait for it forever when stopping


async def test_the_scrape_itself_is_counted_once_it_is_answered(client: httpx.AsyncClient) -> None:
    assert await scrape(client, "http_requests_total") == {}
    assert await scrape(client, "http_requests_total") == {("GET", "/metrics", "200"): 1}


async def test_each_app_counts_only_its_own_requests(settings: Settings) -> None:
    # Two apps in one process: a shared (global) registry would refuse the second one's metrics.
    first, second = create_app(settings), create_app(settings)
    assert first.state.metrics.registry is not second.state.metrics.registry
    transport = httpx.ASGITransport(app=first)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/health/live")
    transport = httpx.ASGITransport(app=second)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert await scrape(client, "http_requests_total") == {}


async def test_metrics_can_be_switched_off(settings: Settings, client_for: ClientFactory) -> None:
    disabled = settings.model_copy(update={"metrics_enabled": False})
    async with client_for(disabled) as client:
        live = await client.get("/health/live")
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # The layer that records metrics also gives every request its id: that stays.
    assert live.headers["x-request-id"]
    assert response.headers["x-request-id"] == response.json()["error"]["requestId"]


async def test_metrics_endpoint_is_not_in_the_api_docs(
    settings: Settings, client_for: ClientFactory
) -> None:
    with_docs = settings.model_copy(update={"docs_environments": frozenset({Environment.TEST})})
    async with client_for(with_docs) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert (await client.get("/metrics")).status_code == 200
    assert "/health/live" in paths
    assert "/metrics" not in paths
