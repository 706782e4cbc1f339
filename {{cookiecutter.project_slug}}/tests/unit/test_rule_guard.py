"""tools/rule_guard.py: each rule fires on a violation, stays quiet on the compliant variant.

The rules ruff checks are proved in test_ruff_rules.py, with this project's own ruff settings."""

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


# S2, S11: pools and clients belong to lifespan


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
        ('@router.get("/{item_id}", response_model=ItemOut)', "dict[str, Any]", "ItemOut(**item)"),
        (
            '@router.get("/{item_id}", response_model=ItemOut)',
            "Any",
            "ItemOut.model_validate(item)",
        ),
        ('@router.get("/{item_id}")', "ItemOut", "ItemOut(**item)"),
        (
            '@router.get("/", response_model=list[schemas.ItemOut])',
            "Any",
            "[schemas.ItemOut(**item)]",
        ),
    ],
)
def test_route_building_its_own_response_model_is_reported(
    tmp_path: Path, decorator: str, returns: str, value: str
) -> None:
    source = f"{decorator}\nasync def read_item(item: Any) -> {returns}:\n    return {value}\n"
    [finding] = guard(tmp_path, {"app.py": source})
    assert (finding.rule, finding.line) == ("S8", 3)
    assert "Fix: return the plain dict/record; response_model validates once." in str(finding)


def test_route_returning_plain_data_or_a_response_is_not_reported(tmp_path: Path) -> None:
    source = """\
        @router.get("/{item_id}", response_model=ItemOut)
        async def read_item(item: Any) -> dict[str, Any]:
            return dict(item)


        @router.get("/export")
        async def export() -> JSONResponse:
            return JSONResponse({"ok": True})


        def build(item: Any) -> ItemOut:
            return ItemOut(**item)
        """
    assert rules_and_lines(tmp_path, source) == []


# S12: lifespan, and uvicorn's event loop


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ('@app.on_event("startup")\nasync def start() -> None: ...\n', 1),
        ('async def start() -> None: ...\n\n\napp.add_event_handler("startup", start)\n', 4),
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


# S14: pure ASGI middleware


def test_http_middleware_decorator_is_reported(tmp_path: Path) -> None:
    # Importing BaseHTTPMiddleware itself is ruff's to find (TID251, pyproject.toml).
    source = (
        '@app.middleware("http")\nasync def add_header(request: Any, call_next: Any) -> Any: ...\n'
    )
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
        import httpx

        loop.run_until_complete(main())  # rule-guard: ignore[S12] - a process of its own
        loop.run_until_complete(main())  # rule-guard: ignore[S2]
        CLIENT = httpx.Client()  # rule-guard: ignore[S2, S12]
        """
    assert rules_and_lines(tmp_path, source) == [("S12", 4)]


def test_command_line_prints_each_finding_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text("import httpx\n\nCLIENT = httpx.AsyncClient()\n")
    assert main([str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'app.py'}:3: S2 httpx.AsyncClient() is created at import time, outside "
        "lifespan. Fix: create it in lifespan and reach it through its typed dependency."
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
