"""Property-based fuzzing of every operation in the service's own OpenAPI schema.

schemathesis turns the schema into hypothesis strategies and makes one test per operation. The
requests it builds are valid ones and invalid ones (wrong types, missing or extra fields, bodies
that are not JSON at all, boundary values). Each goes to the real app, in process, with a
signed-up user's bearer token, against real Postgres and Redis, under the blocking guard.

Whatever was sent, the service must not fail (no 5xx) and must answer as its schema says: a
status code the operation documents, a documented content type and headers, a body matching the
schema for that status, input the schema forbids refused with a 4xx, and a 405's `Allow`
listing exactly the methods the schema documents for the path. `schemathesis.toml` says where
input the schema calls valid may still be refused, and why; its check
(`positive_data_acceptance`) is not run here yet, since the schema of a `DecimalNumber` admits
any string where the service reads only a number's digits.

A few examples per operation run in every test run (the `quick` hypothesis profile in
conftest.py); `make fuzz` searches longer (`--hypothesis-profile=fuzz`).
"""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.load import report
from tests.helpers.users import UserFactory

Case = schemathesis.Case[Any]

# Built at import: schemathesis makes one test per operation while pytest collects them.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(environment=Environment.TEST)).openapi(),
    config=SchemathesisConfig.from_path(Path(__file__).parents[2] / "schemathesis.toml"),
)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.allow_header_conformance,
]


@pytest.fixture(scope="module")
def sent(request: pytest.FixtureRequest) -> Iterator[Counter[tuple[str, int]]]:
    """Requests sent, by operation and status; the totals are printed at the end."""
    counts: Counter[tuple[str, int]] = Counter()
    yield counts
    by_status: Counter[int] = Counter()
    for (_, status), n in counts.items():
        by_status[status] += n
    report(
        request.config,
        f"\nfuzz: {counts.total()} requests to {len({op for op, _ in counts})} operations; "
        f"by status: {dict(sorted(by_status.items()))}",
    )


@pytest.fixture
async def auth_headers(make_user: UserFactory) -> dict[str, str]:
    return (await make_user()).headers


def httpx_arguments(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """schemathesis prepares `requests`-style arguments; httpx calls a raw body `content`."""
    arguments = case.as_transport_kwargs(base_url="http://test", headers=headers)
    # The refresh cookie, as a header: httpx deprecates cookies given per request.
    if cookies := arguments.pop("cookies"):
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        arguments["headers"] = {**arguments.get("headers", {}), "Cookie": cookie}
    if isinstance(arguments.get("data"), bytes | str):
        arguments["content"] = arguments.pop("data")
    return arguments


@schema.parametrize()
async def test_operation_answers_as_documented(
    case: Case,
    client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    sent: Counter[tuple[str, int]],
) -> None:
    response = await client.request(**httpx_arguments(case, auth_headers))
    sent[case.operation.label, response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
