"""Every automated check of a generated project fires on a violation of its rule.

Each case copies a rendered project, injects one violation into real code, runs the check the
project itself runs (`tools/rule_guard.py`, `ruff check`), and expects a failure that names the
rule and the file. A guard that never fires is a defect; the clean render passing is checked in
test_render.py.
"""

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import render_cookiecutter

# Slow: renders projects and runs their checks; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

SLUG = "my_service"
PKG = f"src/{SLUG}"


@dataclass(frozen=True)
class Violation:
    path: str
    anchor: str  # the injected text goes right after this line
    code: str
    imports: str = ""
    check: str = "guard"  # or "ruff"
    expect: str = ""  # the rule id or ruff code that must be named


VIOLATIONS = {
    "sleep-in-async-route": Violation(
        f"{PKG}/users/router.py",
        "async def read_me(user: CurrentUser) -> dict[str, Any]:",
        "    time.sleep(1)",
        imports="import time",
        expect="S1",
    ),
    "requests-in-async-dependency": Violation(
        f"{PKG}/core/http_client.py",
        "async def get_http_client(request: Request) -> httpx.AsyncClient:",
        '    requests.get("https://example.com", timeout=5)',
        imports="import requests",
        expect="S1",
    ),
    "blocking-helper-called-from-async-route": Violation(
        f"{PKG}/posts/router.py",
        "async def read_post(post: OwnedPost) -> dict[str, Any]:",
        '    load_report("report.csv")',
        imports="def load_report(path: str) -> str:\n    with open(path) as file:\n        return file.read()\n",
        expect="S1",
    ),
    "client-at-import-time": Violation(
        f"{PKG}/core/http_client.py",
        "from fastapi import Depends, Request",
        "HTTP_CLIENT = httpx.AsyncClient()",
        expect="S2",
    ),
    "pool-at-import-time": Violation(
        f"{PKG}/core/database.py",
        "from fastapi import Depends, Request",
        'POOL = asyncpg.create_pool("postgresql://127.0.0.1/db")',
        expect="S11",
    ),
    "route-builds-its-response-model": Violation(
        f"{PKG}/posts/router.py",
        "async def read_post(post: OwnedPost) -> dict[str, Any]:",
        "    return PostOut(**post)  # type: ignore[return-value]",
        expect="S8",
    ),
    "on-event": Violation(
        f"{PKG}/main.py",
        "    app.state.settings = settings",
        '    @app.on_event("startup")\n    async def announce() -> None:\n        pass',
        expect="S12",
    ),
    "asyncio-run-in-app": Violation(
        f"{PKG}/users/router.py",
        "async def read_me(user: CurrentUser) -> dict[str, Any]:",
        "    asyncio.run(asyncio.sleep(0))",
        expect="S12",
    ),
    "environ-outside-config": Violation(
        f"{PKG}/posts/router.py",
        "async def read_post(post: OwnedPost) -> dict[str, Any]:",
        '    _ = os.environ["X"]',
        imports="import os",
        expect="S13",
    ),
    "http-middleware-decorator": Violation(
        f"{PKG}/main.py",
        "    app.add_middleware(ObservabilityMiddleware, metrics=metrics)",
        '    @app.middleware("http")\n    async def add_header(request: Any, call_next: Any) -> Any:\n        return await call_next(request)',
        imports="from typing import Any",
        expect="S14",
    ),
    "base-http-middleware": Violation(
        f"{PKG}/core/observability.py",
        "import structlog",
        "from starlette.middleware.base import BaseHTTPMiddleware  # noqa: F401",
        expect="S14",
    ),
    "ruff-async-sleep": Violation(
        f"{PKG}/users/router.py",
        "async def read_me(user: CurrentUser) -> dict[str, Any]:",
        "    time.sleep(1)",
        imports="import time",
        check="ruff",
        expect="ASYNC251",
    ),
    "ruff-banned-requests": Violation(
        f"{PKG}/core/http_client.py",
        "from fastapi import Depends, Request",
        "import requests  # noqa: F401",
        check="ruff",
        expect="TID251",
    ),
    "ruff-banned-testclient": Violation(
        "tests/api/core/test_docs.py",
        "import pytest",
        "from fastapi.testclient import TestClient  # noqa: F401",
        check="ruff",
        expect="TID251",
    ),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_cookiecutter({}, tmp_path_factory.mktemp("guard"))


def inject(project: Path, violation: Violation) -> None:
    target = project / violation.path
    text = target.read_text()
    assert violation.anchor in text, f"anchor not found in {violation.path}: {violation.anchor}"
    text = text.replace(violation.anchor, f"{violation.anchor}\n{violation.code}", 1)
    if violation.imports:
        text = f"{violation.imports}\n{text}"
    target.write_text(text)


def run_check(project: Path, check: str) -> subprocess.CompletedProcess[str]:
    if check == "guard":
        argv = [sys.executable, "tools/rule_guard.py", "src"]
    else:
        argv = [
            str(Path(sys.executable).with_name("ruff")),
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            ".",
        ]
    return subprocess.run(
        argv, cwd=project, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("check", ["guard", "ruff"])
def test_unmodified_project_passes(rendered: Path, check: str) -> None:
    result = run_check(rendered, check)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_check_fires_and_names_the_rule(rendered: Path, tmp_path: Path, name: str) -> None:
    violation = VIOLATIONS[name]
    project = tmp_path / SLUG
    shutil.copytree(rendered, project)
    inject(project, violation)
    result = run_check(project, violation.check)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    findings = [
        line for line in output.splitlines() if violation.path in line and violation.expect in line
    ]
    assert findings, f"expected {violation.expect} in {violation.path}, got:\n{output}"
