"""Checks the rules of RULES.md that neither ruff nor the runtime guard can see. Standard library only.

Usage: `python tools/rule_guard.py [PATH ...]` (default: `src`). Prints one line per finding,
`path:line: RULE what is wrong. Fix: how`, and exits 1 if there is any.

S2/S11  A client, executor, pool, connection or engine created at import time, outside lifespan.
S8      A route that builds its own response model (`return UserOut(...)`).
S12     `on_event` / `add_event_handler` instead of lifespan, or a second loop (`run_until_complete`).
S14     `@app.middleware("http")`, which runs on BaseHTTPMiddleware.

RULES.md says which mechanism enforces each rule. A line opts out with a trailing comment naming
the rule, and why: `loop.run_until_complete(main())  # rule-guard: ignore[S12] - ...`.
"""

import argparse
import ast
import builtins
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

# What creating one at import time means: nothing in lifespan opens or closes it.
IMPORT_TIME = {
    f"{module}.{function}": rule
    for module, functions, rule in [
        ("asyncpg", "create_pool connect", "S11"),
        ("sqlalchemy", "create_engine", "S11"),
        ("sqlalchemy.ext.asyncio", "create_async_engine", "S11"),
        ("httpx", "AsyncClient Client", "S2"),
        ("redis", "Redis from_url", "S2"),
        ("redis.Redis", "from_url", "S2"),
        ("redis.asyncio", "Redis from_url", "S2"),
        ("redis.asyncio.Redis", "from_url", "S2"),
        ("concurrent.futures", "ProcessPoolExecutor ThreadPoolExecutor", "S2"),
    ]
    for function in functions.split()
}
MESSAGES = {
    "import": "{call}() is created at import time, outside lifespan. Fix: create it in lifespan "
    "and reach it through its typed dependency.",
    "S8": "route '{route}' returns {built}(...), so the response is validated twice. Fix: return "
    "the plain dict/record; response_model validates once.",
    "on_event": "{call}() is deprecated and skips cleanup after a failed start. Fix: open and "
    "close resources in lifespan (core/lifespan.py).",
    "run_until_complete": "{call}() runs a second event loop, but the app runs in uvicorn's. "
    "Fix: await the coroutine; startup work goes in lifespan.",
    "S14": '@{call}("http") runs on BaseHTTPMiddleware, which breaks contextvars and streaming. '
    "Fix: write pure ASGI middleware, like core.observability.ObservabilityMiddleware.",
}
MESSAGES["add_event_handler"] = MESSAGES["on_event"]
S12_ATTRIBUTES = frozenset({"on_event", "add_event_handler", "run_until_complete"})
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "api_route"})
IGNORE_COMMENT = re.compile(r"#\s*rule-guard:\s*ignore\[([\w\s,]+)\]")
Check = Iterator[tuple[ast.AST, str, str]]


class Finding(NamedTuple):
    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} {self.message}"


def run_now(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """The nodes that run when `nodes` run: a function's decorators and defaults, not its body."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(node.decorator_list + node.args.defaults)
        elif not isinstance(node, ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def qualname(node: ast.AST, imports: dict[str, str]) -> str:
    """`httpx.AsyncClient` for `AsyncClient` after `from httpx import AsyncClient`."""
    if isinstance(node, ast.Name):
        return imports.get(node.id, "")
    if isinstance(node, ast.Attribute) and (base := qualname(node.value, imports)):
        return f"{base}.{node.attr}"
    return ""


def created_at_import_time(tree: ast.Module) -> Check:
    imports: dict[str, str] = {}
    for node in ast.walk(tree):
        for alias in node.names if isinstance(node, ast.Import | ast.ImportFrom) else ():
            if isinstance(node, ast.ImportFrom):
                if not node.level:  # relative imports name none of the libraries above
                    imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            else:
                top = alias.name.partition(".")[0]
                imports[alias.asname or top] = alias.name if alias.asname else top
    for node in run_now(tree.body):
        if isinstance(node, ast.Call) and (rule := IMPORT_TIME.get(qualname(node.func, imports))):
            yield node, rule, MESSAGES["import"].format(call=ast.unparse(node.func))


def response_models(route: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The classes FastAPI validates a route's return value with (empty: not a route)."""
    declared: list[ast.expr] = []
    for decorator in route.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") in ROUTE_METHODS:
            models = [kw.value for kw in decorator.keywords if kw.arg == "response_model"]
            declared += models or ([route.returns] if route.returns else [])  # else the annotation
    names = {
        ast.unparse(node)
        for expression in declared
        for node in ast.walk(expression)
        if isinstance(node, ast.Name | ast.Attribute)
    }
    # dict, list, None... are not models, and FastAPI validates no Response.
    return {name for name in names if name not in vars(builtins) and not name.endswith("Response")}


def built_model(value: ast.expr | None, models: set[str]) -> str | None:
    """`UserOut` for `UserOut(...)`, `UserOut.model_validate(...)` or a list of them."""
    if isinstance(value, ast.List | ast.Tuple | ast.ListComp):
        items = [value.elt] if isinstance(value, ast.ListComp) else value.elts
        return next((built for item in items if (built := built_model(item, models))), None)
    if not isinstance(value, ast.Call):
        return None
    model = value.func
    if isinstance(model, ast.Attribute) and model.attr in {"model_validate", "model_validate_json"}:
        model = model.value
    return ast.unparse(value.func) if ast.unparse(model) in models else None


def routes_building_their_response_model(tree: ast.Module) -> Check:
    for route in ast.walk(tree):
        if isinstance(route, ast.FunctionDef | ast.AsyncFunctionDef):
            models = response_models(route)
            for node in run_now(route.body) if models else ():  # not in functions nested in it
                if isinstance(node, ast.Return) and (built := built_model(node.value, models)):
                    yield node, "S8", MESSAGES["S8"].format(route=route.name, built=built)


def event_loop_and_middleware_misuse(tree: ast.Module) -> Check:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in S12_ATTRIBUTES:
            yield node, "S12", MESSAGES[node.attr].format(call=ast.unparse(node))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "middleware"
            and any(isinstance(arg, ast.Constant) and arg.value == "http" for arg in node.args[:1])
        ):
            yield node, "S14", MESSAGES["S14"].format(call=ast.unparse(node.func))


def check_file(path: Path) -> list[Finding]:
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        message = f"cannot be parsed: {exc.msg}. Fix: make it valid Python (ruff shows how)."
        return [Finding(path, exc.lineno or 1, "syntax", message)]
    lines, findings = source.splitlines(), []
    checks = (created_at_import_time, routes_building_their_response_model)
    for check in (*checks, event_loop_and_middleware_misuse):
        for node, rule, message in check(tree):
            line = getattr(node, "lineno", 1)
            ignored = IGNORE_COMMENT.search(lines[line - 1])
            if not (ignored and rule in re.split(r"[\s,]+", ignored.group(1))):
                findings.append(Finding(path, line, rule, message))
    return findings


def python_files(paths: Iterable[Path]) -> list[Path]:
    return [  # hidden folders and caches left out
        file
        for path in paths
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py")))
        if not any(p.startswith(".") or p == "__pycache__" for p in file.relative_to(path).parts)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the rules of RULES.md ruff cannot see.")
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("src")])
    paths: list[Path] = parser.parse_args(argv).paths
    if missing := [str(path) for path in paths if not path.exists()]:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    findings = check_paths(paths)
    print(*findings, sep="\n", end="\n" if findings else "")
    summary = f"rule-guard: {len(findings)} finding(s) in {len(python_files(paths))} files"
    print(summary, file=sys.stderr)
    return 1 if findings else 0


def check_paths(paths: Iterable[Path]) -> list[Finding]:
    findings = [finding for path in python_files(paths) for finding in check_file(path)]
    return sorted(findings, key=lambda found: (str(found.path), found.line, found.rule))


if __name__ == "__main__":
    sys.exit(main())
