"""tools/rule_guard.py: each rule fires on a violation, stays quiet on the compliant variant."""

from pathlib import Path
from textwrap import dedent

import pytest

from rule_guard import Finding, check_paths, main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def guard(root: Path, files: dict[str, str]) -> list[Finding]:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(source))
    return check_paths([root])


def rules_and_lines(root: Path, source: str, name: str = "app.py") -> list[tuple[str, int]]:
    return [(finding.rule, finding.line) for finding in guard(root, {name: source})]


# S1: blocking calls inside async def


def test_time_sleep_in_async_route_is_reported(tmp_path: Path) -> None:
    source = """\
        import time


        async def handler() -> None:
            time.sleep(1)
        """
    [finding] = guard(tmp_path, {"app.py": source})
    assert str(finding) == (
        f"{tmp_path / 'app.py'}:5: S1 time.sleep() blocks the event loop inside async def "
        "'handler'. Fix: await asyncio.sleep(), or move the blocking work into a def route or "
        "run_in_threadpool."
    )


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("from time import sleep", "sleep(1)"),
        ("import requests as r", 'r.get("https://example.com")'),
        ("import requests", 'requests.Session().post("https://example.com")'),
        ("from urllib.request import urlopen", 'urlopen("https://example.com")'),
        ("import subprocess", 'subprocess.run(["ls"], check=True)'),
        ("from subprocess import check_output", 'check_output(["ls"])'),
        ("import os", 'os.system("ls")'),
        ("import socket", 'socket.create_connection(("example.com", 80))'),
        ("import psycopg2", 'psycopg2.connect("dbname=x")'),
        ("import sqlite3", 'sqlite3.connect("x.db")'),
        ("import shutil", 'shutil.rmtree("build")'),
        ("import builtins", 'builtins.open("report.csv")'),
        ("", 'open("report.csv")'),
        ("", "input()"),
    ],
)
def test_blocking_calls_are_found_through_imports_and_aliases(
    tmp_path: Path, imports: str, call: str
) -> None:
    source = f"{imports}\n\n\nasync def handler() -> None:\n    {call}\n"
    assert rules_and_lines(tmp_path, source) == [("S1", 5)]


def test_blocking_call_in_nested_def_or_lambda_passed_to_the_thread_pool_is_not_reported(
    tmp_path: Path,
) -> None:
    source = """\
        import time

        from fastapi.concurrency import run_in_threadpool


        async def handler() -> None:
            def work() -> None:
                time.sleep(1)

            await run_in_threadpool(work)
            await run_in_threadpool(lambda: time.sleep(1))
        """
    assert rules_and_lines(tmp_path, source) == []


def test_blocking_call_in_a_plain_def_route_is_not_reported(tmp_path: Path) -> None:
    source = "import time\n\n\ndef handler() -> None:\n    time.sleep(1)\n"
    assert rules_and_lines(tmp_path, source) == []


def test_local_names_that_shadow_blocking_modules_are_not_reported(tmp_path: Path) -> None:
    source = """\
        async def handler(requests: list[str], sleep: float) -> None:
            requests.append("x")
            time = sleep
        """
    assert rules_and_lines(tmp_path, source) == []


def test_nested_def_called_directly_from_async_code_is_reported(tmp_path: Path) -> None:
    source = """\
        async def export() -> str:
            def load() -> str:
                with open("report.csv") as file:
                    return file.read()

            return load()
        """
    [finding] = guard(tmp_path, {"app.py": source})
    assert (finding.rule, finding.line) == ("S1", 6)
    assert "load() calls open() (blocking) and is called inside async def 'export'" in str(finding)


def test_blocking_project_function_in_the_same_module_is_reported(tmp_path: Path) -> None:
    source = """\
        import time


        def wait_for_report() -> None:
            time.sleep(5)


        async def export() -> None:
            wait_for_report()
        """
    assert rules_and_lines(tmp_path, source) == [("S1", 9)]


REPORTS = """\
    def load_report(path: str) -> str:
        with open(path) as file:
            return file.read()
    """


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("from pkg.reports import load_report", "load_report"),
        ("from pkg import reports", "reports.load_report"),
        ("import pkg.reports as r", "r.load_report"),
        ("import pkg.reports", "pkg.reports.load_report"),
        ("from .reports import load_report", "load_report"),
        ("from pkg import load_report", "load_report"),  # re-exported by pkg/__init__.py
    ],
)
def test_blocking_project_function_imported_from_another_module_is_reported(
    tmp_path: Path, imports: str, call: str
) -> None:
    router = f"{imports}\n\n\nasync def export() -> str:\n    return {call}('r.csv')\n"
    files = {
        "pkg/__init__.py": "from pkg.reports import load_report\n",
        "pkg/reports.py": REPORTS,
        "pkg/router.py": router,
    }
    [finding] = guard(tmp_path, files)
    assert (finding.path.name, finding.rule, finding.line) == ("router.py", "S1", 5)
    assert finding.message.startswith(
        f"{call}() calls open() (blocking) and is called inside async def 'export'. "
        f"Fix: await run_in_threadpool({call}, ...)"
    )


def test_blocking_project_function_passed_to_the_thread_pool_is_not_reported(
    tmp_path: Path,
) -> None:
    router = """\
        from fastapi.concurrency import run_in_threadpool

        from pkg.reports import load_report


        async def export() -> str:
            return await run_in_threadpool(load_report, "r.csv")
        """
    files = {"pkg/__init__.py": "", "pkg/reports.py": REPORTS, "pkg/router.py": router}
    assert guard(tmp_path, files) == []


# S2 / S11: pools and clients created at import time


@pytest.mark.parametrize(
    ("imports", "code", "rule"),
    [
        ("import httpx", "client = httpx.AsyncClient()", "S2"),
        ("from httpx import Client", "client = Client()", "S2"),
        ("from redis.asyncio import Redis", "redis = Redis.from_url('redis://x')", "S2"),
        ("import redis.asyncio", "redis = redis.asyncio.from_url('redis://x')", "S2"),
        ("from concurrent import futures", "POOL = futures.ProcessPoolExecutor()", "S2"),
        ("import asyncpg", "pool = asyncpg.create_pool('postgresql://x')", "S11"),
        ("import sqlalchemy.ext.asyncio as sa", "engine = sa.create_async_engine('x')", "S11"),
        ("import httpx", "class Clients:\n    http = httpx.AsyncClient()", "S2"),
        ("import httpx", "def get(client: Any = httpx.AsyncClient()) -> None: ...", "S2"),
    ],
)
def test_pool_or_client_created_at_import_time_is_reported(
    tmp_path: Path, imports: str, code: str, rule: str
) -> None:
    source = f"{imports}\n\n\n{code}\n"
    line = 5 if code.startswith("class") else 4
    assert rules_and_lines(tmp_path, source) == [(rule, line)]


def test_pool_and_client_created_inside_a_function_are_not_reported(tmp_path: Path) -> None:
    source = """\
        import asyncpg
        import httpx


        async def lifespan(app: object) -> None:
            async with httpx.AsyncClient() as client, asyncpg.create_pool("postgresql://x") as pool:
                print(client, pool)
        """
    assert rules_and_lines(tmp_path, source) == []


# S8: routes return plain data


@pytest.mark.parametrize(
    ("decorator", "returns", "value"),
    [
        ('@router.get("/{post_id}", response_model=PostOut)', "dict[str, Any]", "PostOut(**post)"),
        (
            '@router.get("/{post_id}", response_model=PostOut)',
            "Any",
            "PostOut.model_validate(post)",
        ),
        ('@router.get("/{post_id}")', "PostOut", "PostOut(**post)"),
        (
            '@router.get("/", response_model=list[schemas.PostOut])',
            "Any",
            "[schemas.PostOut(**post)]",
        ),
    ],
)
def test_route_building_its_own_response_model_is_reported(
    tmp_path: Path, decorator: str, returns: str, value: str
) -> None:
    source = f"{decorator}\nasync def read_post(post: Any) -> {returns}:\n    return {value}\n"
    [finding] = guard(tmp_path, {"app.py": source})
    assert (finding.rule, finding.line) == ("S8", 3)
    assert "Fix: return the plain dict/record; response_model validates once." in str(finding)


def test_route_returning_plain_data_or_a_response_is_not_reported(tmp_path: Path) -> None:
    source = """\
        @router.get("/{post_id}", response_model=PostOut)
        async def read_post(post: Any) -> dict[str, Any]:
            return dict(post)


        @router.get("/export")
        async def export() -> JSONResponse:
            return JSONResponse({"ok": True})


        def build(post: Any) -> PostOut:
            return PostOut(**post)
        """
    assert rules_and_lines(tmp_path, source) == []


# S12: lifespan, and uvicorn's event loop


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ('@app.on_event("startup")\nasync def start() -> None: ...\n', 1),
        ('async def start() -> None: ...\n\n\napp.add_event_handler("startup", start)\n', 4),
        ("import asyncio\n\nasyncio.run(main())\n", 3),
        ("from asyncio import run\n\nrun(main())\n", 3),
        ("def sync_route() -> None:\n    loop.run_until_complete(main())\n", 2),
    ],
)
def test_on_event_and_a_second_event_loop_are_reported(
    tmp_path: Path, source: str, line: int
) -> None:
    assert rules_and_lines(tmp_path, source) == [("S12", line)]


def test_lifespan_and_awaited_coroutines_are_not_reported(tmp_path: Path) -> None:
    source = """\
        from fastapi import FastAPI

        app = FastAPI(lifespan=lifespan)


        async def route() -> None:
            await main()
        """
    assert rules_and_lines(tmp_path, source) == []


# S13: configuration comes from Settings


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ('import os\n\nKEY = os.environ["SECRET_KEY"]\n', 3),
        ('import os\n\nKEY = os.environ.get("SECRET_KEY")\n', 3),
        ('import os as system\n\nKEY = system.getenv("SECRET_KEY")\n', 3),
        ("from os import environ\n", 1),
        ("from os import getenv as env\n", 1),
    ],
)
def test_environment_read_outside_config_is_reported(
    tmp_path: Path, source: str, line: int
) -> None:
    assert rules_and_lines(tmp_path, source, name="posts/router.py") == [("S13", line)]


def test_environment_read_in_config_is_not_reported(tmp_path: Path) -> None:
    source = 'import os\nfrom os import getenv\n\nKEY = os.environ["SECRET_KEY"]\n'
    assert rules_and_lines(tmp_path, source, name="settings.py") == []


# S14: pure ASGI middleware


@pytest.mark.parametrize(
    "source",
    [
        '@app.middleware("http")\nasync def add_header(request: Any, call_next: Any) -> Any: ...\n',
        "from starlette.middleware.base import BaseHTTPMiddleware\n",
        "from fastapi.middleware.base import BaseHTTPMiddleware\n",
        "import starlette.middleware.base\n",
        "from starlette.middleware import base\n",
    ],
)
def test_base_http_middleware_is_reported(tmp_path: Path, source: str) -> None:
    assert rules_and_lines(tmp_path, source) == [("S14", 1)]


def test_pure_asgi_middleware_is_not_reported(tmp_path: Path) -> None:
    source = """\
        from starlette.middleware.cors import CORSMiddleware


        class TimingMiddleware:
            def __init__(self, app: Any) -> None:
                self.app = app

            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                await self.app(scope, receive, send)


        app.add_middleware(TimingMiddleware)
        app.add_middleware(CORSMiddleware, allow_origins=["*"])
        """
    assert rules_and_lines(tmp_path, source) == []


# Opting out, the command line, and this project


def test_ignore_comment_silences_only_the_rule_it_names(tmp_path: Path) -> None:
    source = """\
        import os
        import time


        async def handler() -> None:
            time.sleep(0.1)  # rule-guard: ignore[S1] - a test double, never served
            time.sleep(0.1)  # rule-guard: ignore[S13]
            print(os.environ["X"])  # rule-guard: ignore[S1, S13]
        """
    assert rules_and_lines(tmp_path, source) == [("S1", 7)]


def test_command_line_prints_each_finding_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text("import os\n\nKEY = os.getenv('KEY')\n")
    assert main([str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'app.py'}:3: S13 os.getenv is used outside settings.py. Fix: add a field to "
        "Settings (core/settings.py) and pass the settings down."
    ]


def test_command_line_prints_nothing_and_exits_0_when_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text("async def handler() -> None: ...\n")
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_file_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    assert rules_and_lines(tmp_path, "async def handler(:\n    pass\n") == [("syntax", 1)]


def test_this_project_follows_the_rules() -> None:
    findings = check_paths([PROJECT_ROOT / "src", PROJECT_ROOT / "tools"])
    assert [str(finding) for finding in findings] == []
