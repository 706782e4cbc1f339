"""Checks the rules of RULES.md that neither ruff nor the runtime guard can see. Standard library only.

Usage: `python tools/rule_guard.py [PATH ...]` (default: `src`). Prints one line per finding,
`path:line: RULE what is wrong. Fix: how`, and exits 1 if there is any.

S2   An HTTP or Redis client, or an executor, created at import time.
S8   A route that builds its own response model (`return UserOut(...)`).
S11  An asyncpg pool or connection, or an SQLAlchemy engine, created at import time.
S12  `on_event` / `add_event_handler` instead of lifespan, or `run_until_complete`: the app runs
     inside uvicorn's event loop.
S14  `@app.middleware("http")`, which runs on BaseHTTPMiddleware.

What ruff checks (pyproject.toml) and what the runtime guard catches (tests/conftest.py) is not
repeated here; RULES.md says which mechanism enforces each rule. A line opts out with a trailing
comment naming the rule, and why: `loop.run_until_complete(main())  # rule-guard: ignore[S12] - ...`.
"""

import argparse
import ast
import builtins
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# What creating one at import time means: nothing in lifespan opens or closes it.
IMPORT_TIME_RESOURCES = {
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
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "api_route"})
MODEL_VALIDATORS = frozenset({"model_validate", "model_validate_json"})
IGNORE_COMMENT = re.compile(r"#\s*rule-guard:\s*ignore\[([\w\s,]+)\]")
NOT_MODELS = frozenset(vars(builtins))


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} {self.message}"


def module_level(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node that runs when `nodes` run: the bodies of functions defined there run later
    (their decorators and defaults do not)."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(node.decorator_list + node.args.defaults)
        elif not isinstance(node, ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it names: `AsyncClient` -> `httpx.AsyncClient`."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.partition(".")[0]] = (
                    alias.name if alias.asname else alias.name.partition(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def qualname(node: ast.AST, imports: dict[str, str]) -> str:
    if isinstance(node, ast.Name):
        return imports.get(node.id, "")
    if isinstance(node, ast.Attribute) and (base := qualname(node.value, imports)):
        return f"{base}.{node.attr}"
    return ""


def resources_created_at_import_time(tree: ast.Module) -> Iterator[tuple[ast.AST, str, str]]:
    imports = imported_names(tree)
    for node in module_level(tree.body):
        if isinstance(node, ast.Call) and (
            rule := IMPORT_TIME_RESOURCES.get(qualname(node.func, imports))
        ):
            yield (
                node,
                rule,
                (
                    f"{ast.unparse(node.func)}() is created at import time, outside lifespan. "
                    "Fix: create it in lifespan and reach it through its typed dependency."
                ),
            )


def response_models(route: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The classes FastAPI validates a route's return value with (empty: not a route)."""
    declared: list[ast.expr] = []
    for decorator in route.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_METHODS
        ):
            models = [kw.value for kw in decorator.keywords if kw.arg == "response_model"]
            # Without response_model=, FastAPI uses the return annotation.
            declared += models or ([route.returns] if route.returns else [])
    names = {
        ast.unparse(node)
        for expression in declared
        for node in ast.walk(expression)
        if isinstance(node, ast.Name | ast.Attribute)
    }
    # dict, list, None... are not models, and FastAPI validates no Response.
    return {name for name in names if name not in NOT_MODELS and not name.endswith("Response")}


def built_model(value: ast.expr | None, models: set[str]) -> str | None:
    """`UserOut` for `UserOut(...)`, `UserOut.model_validate(...)` or a list of them."""
    if isinstance(value, ast.List | ast.Tuple):
        return next((built for item in value.elts if (built := built_model(item, models))), None)
    if isinstance(value, ast.ListComp):
        return built_model(value.elt, models)
    if not isinstance(value, ast.Call):
        return None
    model = value.func
    if isinstance(model, ast.Attribute) and model.attr in MODEL_VALIDATORS:
        model = model.value
    return ast.unparse(value.func) if ast.unparse(model) in models else None


def routes_building_their_response_model(tree: ast.Module) -> Iterator[tuple[ast.AST, str, str]]:
    for route in ast.walk(tree):
        if isinstance(route, ast.FunctionDef | ast.AsyncFunctionDef) and (
            models := response_models(route)
        ):
            for node in module_level(route.body):  # not the returns of functions nested in it
                if isinstance(node, ast.Return) and (built := built_model(node.value, models)):
                    yield (
                        node,
                        "S8",
                        (
                            f"route '{route.name}' returns {built}(...), so the response is validated "
                            "twice. Fix: return the plain dict/record; response_model validates once."
                        ),
                    )


def event_loop_and_middleware_misuse(tree: ast.Module) -> Iterator[tuple[ast.AST, str, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"on_event", "add_event_handler"}:
            yield (
                node,
                "S12",
                (
                    f"{ast.unparse(node)}() is deprecated and skips cleanup after a failed start. "
                    "Fix: open and close resources in lifespan (core/lifespan.py)."
                ),
            )
        elif isinstance(node, ast.Attribute) and node.attr == "run_until_complete":
            yield (
                node,
                "S12",
                (
                    f"{ast.unparse(node)}() runs a second event loop, but the app runs in uvicorn's. "
                    "Fix: await the coroutine; startup work goes in lifespan."
                ),
            )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "middleware"
            and any(isinstance(arg, ast.Constant) and arg.value == "http" for arg in node.args[:1])
        ):
            yield (
                node,
                "S14",
                (
                    f'@{ast.unparse(node.func)}("http") runs on BaseHTTPMiddleware, which breaks '
                    "contextvars and streaming. Fix: write pure ASGI middleware, like "
                    "core.observability.ObservabilityMiddleware."
                ),
            )


CHECKS = (
    resources_created_at_import_time,
    routes_building_their_response_model,
    event_loop_and_middleware_misuse,
)


def check_file(path: Path) -> list[Finding]:
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        message = f"cannot be parsed: {exc.msg}. Fix: make it valid Python (ruff shows how)."
        return [Finding(path, exc.lineno or 1, "syntax", message)]
    lines = source.splitlines()
    findings = []
    for check in CHECKS:
        for node, rule, message in check(tree):
            line = getattr(node, "lineno", 1)
            ignored = IGNORE_COMMENT.search(lines[line - 1])
            if not (ignored and rule in re.split(r"[\s,]+", ignored.group(1))):
                findings.append(Finding(path, line, rule, message))
    return findings


def python_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
            continue
        for file in sorted(path.rglob("*.py")):
            parts = file.relative_to(path).parts
            if not any(part.startswith(".") or part == "__pycache__" for part in parts):
                found.append(file)
    return found


def check_paths(paths: Iterable[Path]) -> list[Finding]:
    findings = [finding for path in python_files(paths) for finding in check_file(path)]
    return sorted(findings, key=lambda found: (str(found.path), found.line, found.rule))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the rules of RULES.md ruff cannot see.")
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("src")])
    paths: list[Path] = parser.parse_args(argv).paths
    if missing := [str(path) for path in paths if not path.exists()]:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    findings = check_paths(paths)
    for finding in findings:
        print(finding)
    print(
        f"rule-guard: {len(findings)} finding(s) in {len(python_files(paths))} files",
        file=sys.stderr,
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
