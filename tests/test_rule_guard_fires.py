"""Every automated check of a generated project fires on a violation of its rule.

Each case copies a rendered project, adds a new module holding one violation (new code, so a
refactoring of the app's own modules cannot break a case), runs the check the project itself runs (`tools/rule_guard.py`, `ruff check`), and expects a failure that names the
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
    code: str  # a whole new module: refactoring the app's own modules cannot break the case
    check: str = "guard"  # or "ruff"
    expect: str = ""  # the rule id or ruff code that must be named
    path: str = f"{PKG}/injected.py"


ASYNC_ROUTE = """from fastapi import APIRouter

router = APIRouter()


@router.get("/injected")
async def read_injected() -> dict[str, str]:
"""

VIOLATIONS = {
    "client-at-import-time": Violation(
        "import httpx\n\nHTTP_CLIENT = httpx.AsyncClient()\n", expect="S2"
    ),
    "pool-at-import-time": Violation(
        'import asyncpg\n\nPOOL = asyncpg.create_pool("postgresql://127.0.0.1/db")\n', expect="S11"
    ),
    "route-builds-its-response-model": Violation(
        f"from fastapi import APIRouter\n\nfrom {SLUG}.core.schemas import CustomBaseModel\n\n\n"
        "class InjectedOut(CustomBaseModel):\n    name: str\n\n\nrouter = APIRouter()\n\n\n"
        '@router.get("/injected", response_model=InjectedOut)\n'
        "async def read_injected() -> InjectedOut:\n"
        '    return InjectedOut(name="built by the route")\n',
        expect="S8",
    ),
    "on-event": Violation(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.on_event("startup")\nasync def announce() -> None:\n    pass\n',
        expect="S12",
    ),
    "asyncio-run-in-app": Violation(
        "import asyncio\n\n\nasync def nested() -> None:\n    asyncio.run(asyncio.sleep(0))\n",
        check="ruff",
        expect="S12",
    ),
    "environ-outside-settings": Violation(
        'import os\n\nGREETING = os.environ["GREETING"]\n', check="ruff", expect="S13"
    ),
    "http-middleware-decorator": Violation(
        "from typing import Any\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.middleware("http")\nasync def add_header(request: Any, call_next: Any) -> Any:\n'
        "    return await call_next(request)\n",
        expect="S14",
    ),
    "base-http-middleware": Violation(
        "from starlette.middleware.base import BaseHTTPMiddleware  # noqa: F401\n",
        check="ruff",
        expect="S14",
    ),
    "ruff-async-sleep": Violation(
        "import time\n\n" + ASYNC_ROUTE + "    time.sleep(1)\n    return {}\n",
        check="ruff",
        expect="ASYNC251",
    ),
    "ruff-banned-requests": Violation(
        "import requests  # noqa: F401\n", check="ruff", expect="TID251"
    ),
    "ruff-banned-testclient": Violation(
        "from fastapi.testclient import TestClient  # noqa: F401\n",
        check="ruff",
        expect="TID251",
        path="tests/api/test_injected.py",
    ),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_cookiecutter({}, tmp_path_factory.mktemp("guard"))


def inject(project: Path, violation: Violation) -> None:
    target = project / violation.path
    assert not target.exists(), f"{violation.path} is part of the project already"
    target.write_text(violation.code)


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
