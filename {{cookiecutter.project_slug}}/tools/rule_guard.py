"""Checks the rules of RULES.md that ruff cannot see. Standard library only.

Usage: `python tools/rule_guard.py [PATH ...]` (default: `src`). Prints one line per finding,
`path:line: RULE what is wrong. Fix: how`, and exits 1 if there is any.

S1   A blocking call (time.sleep, open, requests.*, subprocess.*, ...) directly inside an
     `async def`, or a call from an `async def` to a project `def` that makes one. Names are
     resolved through the module's imports. Nested `def`s and lambdas do not count: their bodies
     run elsewhere (run_in_threadpool).
S2   An HTTP or Redis client, or an executor, created at import time.
S8   A route that builds its own response model (`return PostOut(...)`).
S11  An asyncpg pool or connection, or an SQLAlchemy engine, created at import time.
S12  `on_event` / `add_event_handler` instead of lifespan; also `asyncio.run` and
     `run_until_complete`, because the app runs inside uvicorn's event loop.
S13  `os.environ` / `os.getenv` outside a file named settings.py (core/settings.py).
S14  `@app.middleware("http")` and `BaseHTTPMiddleware` (both break contextvars and streaming).

A line opts out with a trailing comment naming the rule, and why:
`time.sleep(0.1)  # rule-guard: ignore[S1] - runs before the server starts`.
"""

import argparse
import ast
import builtins
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

THREADPOOL_FIX = "move the blocking work into a def route or run_in_threadpool"
HTTP_FIX = "use the shared httpx.AsyncClient (core.http_client.HttpClient)"
SUBPROCESS_FIX = "await asyncio.create_subprocess_exec()"
# module.function -> the async alternative to suggest before THREADPOOL_FIX ("": none).
BLOCKING_CALLS = {
    f"{module}.{function}": alternative
    for module, functions, alternative in [
        ("time", "sleep", "await asyncio.sleep()"),
        ("builtins", "open", "use anyio.open_file() or anyio.Path"),
        ("builtins", "input", ""),
        ("urllib.request", "urlopen", HTTP_FIX),
        ("subprocess", "run call check_call check_output Popen", SUBPROCESS_FIX),
        ("os", "system popen", SUBPROCESS_FIX),
        ("socket", "create_connection", "await asyncio.open_connection()"),
        ("psycopg2", "connect", "use the asyncpg pool (core.database.Conn)"),
        ("sqlite3", "connect", ""),
        ("shutil", "copyfile copy copytree rmtree", ""),
    ]
    for function in functions.split()
}
BLOCKING_MODULES = {"requests": HTTP_FIX}  # any function or class of these modules
# module.function -> rule. Created at import time, no lifespan closes them.
IMPORT_TIME_RESOURCES = {
    f"{module}.{function}": rule
    for module, functions, rule in [
        ("asyncpg", "create_pool connect", "S11"),
        ("asyncpg.pool", "create_pool", "S11"),
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
ENVIRONMENT_READERS = frozenset({"os.environ", "os.environb", "os.getenv", "os.getenvb"})
STARLETTE_BASE = "starlette.middleware.base"
OWN_LOOP_RUNNERS = frozenset({"asyncio.run", "anyio.run"})
IGNORE_COMMENT = re.compile(r"#\s*rule-guard:\s*ignore\[([\w\s,]+)\]")
BUILTINS = frozenset(vars(builtins))
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} {self.message}"


def executed(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node that runs when `nodes` run: function and lambda bodies run later, elsewhere."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, FUNCTIONS):
            # Decorators and defaults run where the function is defined, not when it is called.
            stack.extend(node.args.defaults)
            stack.extend(default for default in node.args.kw_defaults if default is not None)
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
        else:
            stack.extend(ast.iter_child_nodes(node))


def module_name(path: Path) -> str:
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


@dataclass
class Module:
    path: Path
    name: str
    tree: ast.Module
    lines: list[str]

    def __post_init__(self) -> None:
        self.imports: dict[str, str] = {}  # local name -> what it names: sleep -> time.sleep
        package = self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    self.imports[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .reports import x
                    parent = package.rsplit(".", node.level - 1)[0]
                    base = f"{parent}.{base}" if base else parent
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
        self.defined = {
            node.name
            for node in self.tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }

    def qualname(self, node: ast.AST) -> str:
        """`r.get` -> `requests.get` after `import requests as r`; "" for local values."""
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            return f"{self.name}.{node.id}" if node.id in self.defined else ""
        if isinstance(node, ast.Attribute) and (base := self.qualname(node.value)):
            return f"{base}.{node.attr}"
        return ""

    def callee(self, call: ast.Call) -> str:
        """What a call calls; a bare name bound nowhere in the module is a builtin."""
        if not (name := self.qualname(call.func)) and isinstance(call.func, ast.Name):
            return f"builtins.{call.func.id}"
        return name

    def blocking_call(self, call: ast.Call) -> tuple[str, str] | None:
        """(what it calls, the async alternative) if `call` blocks, else None."""
        name = self.callee(call)
        alternative = BLOCKING_CALLS.get(name)
        if alternative is None and "." in name:
            alternative = BLOCKING_MODULES.get(name.partition(".")[0])
        return None if alternative is None else (name.removeprefix("builtins."), alternative)

    def first_blocking_call(self, function: ast.FunctionDef) -> str | None:
        calls = [node for node in executed(function.body) if isinstance(node, ast.Call)]
        for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset)):
            if blocking := self.blocking_call(call):
                return blocking[0]
        return None

    def finding(self, node: ast.stmt | ast.expr, rule: str, message: str) -> Finding:
        return Finding(self.path, node.lineno, rule, message)

    def ignores(self, finding: Finding) -> bool:
        match = IGNORE_COMMENT.search(self.lines[finding.line - 1])
        return match is not None and finding.rule in re.split(r"[\s,]+", match.group(1))


class Project:
    """All scanned modules: which of their plain functions make a blocking call."""

    def __init__(self, modules: list[Module]) -> None:
        self.blocking_functions: dict[str, str] = {}  # pkg.mod.f -> the blocking call it makes
        self.reexports: dict[str, str] = {}  # pkg.f -> pkg.mod.f, for `from pkg.mod import f`
        for module in modules:
            for node in module.tree.body:
                if isinstance(node, ast.FunctionDef) and (call := module.first_blocking_call(node)):
                    self.blocking_functions[f"{module.name}.{node.name}"] = call
            for local, target in module.imports.items():
                self.reexports[f"{module.name}.{local}"] = target

    def blocking_call_made_by(self, name: str) -> str | None:
        for _ in range(5):  # a few re-exports deep, and never round a cycle
            if name in self.blocking_functions:
                return self.blocking_functions[name]
            name = self.reexports.get(name, "")
        return None


def blocking_calls_in_async_code(module: Module, project: Project) -> Iterator[Finding]:
    """S1."""
    for function in ast.walk(module.tree):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        body = list(executed(function.body))
        nested = {node.name: node for node in body if isinstance(node, ast.FunctionDef)}
        where = f"inside async def '{function.name}'"
        for call in (node for node in body if isinstance(node, ast.Call)):
            if blocking := module.blocking_call(call):
                name, alternative = blocking
                fix = f"{alternative}, or {THREADPOOL_FIX}" if alternative else THREADPOOL_FIX
                message = f"{name}() blocks the event loop {where}. Fix: {fix}."
                yield module.finding(call, "S1", message)
                continue
            if isinstance(call.func, ast.Name) and call.func.id in nested:
                made = module.first_blocking_call(nested[call.func.id])
            else:
                made = project.blocking_call_made_by(module.qualname(call.func))
            if made:
                called = ast.unparse(call.func)
                message = (
                    f"{called}() calls {made}() (blocking) and is called {where}. "
                    f"Fix: await run_in_threadpool({called}, ...), or make it async."
                )
                yield module.finding(call, "S1", message)


def resources_created_at_import_time(module: Module, project: Project) -> Iterator[Finding]:
    """S2, S11."""
    for node in executed(module.tree.body):
        if isinstance(node, ast.Call) and (rule := IMPORT_TIME_RESOURCES.get(module.callee(node))):
            message = (
                f"{module.callee(node)}() is created at import time, outside lifespan. "
                "Fix: create it in lifespan and reach it through its typed dependency."
            )
            yield module.finding(node, rule, message)


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
    return {name for name in names if name not in BUILTINS and not name.endswith("Response")}


def model_built_by(value: ast.expr | None, models: set[str]) -> str | None:
    """`PostOut` for `PostOut(...)`, `PostOut.model_validate(...)` or a list of them."""
    if isinstance(value, ast.List | ast.Tuple):
        return next((built for item in value.elts if (built := model_built_by(item, models))), None)
    if isinstance(value, ast.ListComp):
        return model_built_by(value.elt, models)
    if not isinstance(value, ast.Call):
        return None
    model = value.func
    if isinstance(model, ast.Attribute) and model.attr in MODEL_VALIDATORS:
        model = model.value
    return ast.unparse(value.func) if ast.unparse(model) in models else None


def routes_building_their_response_model(module: Module, project: Project) -> Iterator[Finding]:
    """S8."""
    for route in ast.walk(module.tree):
        if not isinstance(route, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not (models := response_models(route)):
            continue
        for node in executed(route.body):
            if isinstance(node, ast.Return) and (built := model_built_by(node.value, models)):
                message = (
                    f"route '{route.name}' returns {built}(...), so the response is validated "
                    "twice. Fix: return the plain dict/record; response_model validates once."
                )
                yield module.finding(node, "S8", message)


def lifecycle_outside_lifespan(module: Module, project: Project) -> Iterator[Finding]:
    """S12."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and node.attr in {"on_event", "add_event_handler"}:
            message = (
                f"{ast.unparse(node)}() is deprecated and skips cleanup after a failed start. "
                "Fix: open and close resources in lifespan (core/lifespan.py)."
            )
            yield module.finding(node, "S12", message)
        elif isinstance(node, ast.Call) and (
            module.callee(node) in OWN_LOOP_RUNNERS
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "run_until_complete")
        ):
            message = (
                f"{ast.unparse(node.func)}() starts a second event loop, but the app runs in "
                "uvicorn's. Fix: await the coroutine; startup work goes in lifespan."
            )
            yield module.finding(node, "S12", message)


def environment_outside_settings(module: Module, project: Project) -> Iterator[Finding]:
    """S13."""
    if module.path.name == "settings.py":
        return
    fix = "Fix: add a field to Settings (core/settings.py) and pass the settings down."
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and module.qualname(node) in ENVIRONMENT_READERS:
            message = f"{ast.unparse(node)} is used outside settings.py. {fix}"
            yield module.finding(node, "S13", message)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
            for alias in node.names:
                if f"os.{alias.name}" in ENVIRONMENT_READERS:
                    message = f"os.{alias.name} is imported outside settings.py. {fix}"
                    yield module.finding(node, "S13", message)


def base_http_middleware(module: Module, project: Project) -> Iterator[Finding]:
    """S14."""
    why = "which breaks contextvars and streaming"
    fix = "Fix: write pure ASGI middleware, like core.observability.ObservabilityMiddleware."
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "middleware"
            and any(isinstance(arg, ast.Constant) and arg.value == "http" for arg in node.args[:1])
        ):
            message = f'@{ast.unparse(node.func)}("http") runs on BaseHTTPMiddleware, {why}. {fix}'
            yield module.finding(node, "S14", message)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            base = f"{node.module or ''}." if isinstance(node, ast.ImportFrom) else ""
            names = [base + alias.name for alias in node.names]
            if any(
                n.endswith(".BaseHTTPMiddleware") or n.startswith(STARLETTE_BASE) for n in names
            ):
                message = f"BaseHTTPMiddleware is imported, {why}. {fix}"
                yield module.finding(node, "S14", message)


CHECKS = (
    blocking_calls_in_async_code,
    resources_created_at_import_time,
    routes_building_their_response_model,
    lifecycle_outside_lifespan,
    environment_outside_settings,
    base_http_middleware,
)


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


def check_files(files: Iterable[Path]) -> list[Finding]:
    modules: list[Module] = []
    findings: list[Finding] = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, filename=str(path))
        except SyntaxError as exc:
            message = f"cannot be parsed: {exc.msg}. Fix: make it valid Python (ruff shows how)."
            findings.append(Finding(path, exc.lineno or 1, "syntax", message))
            continue
        modules.append(Module(path, module_name(path), tree, source.splitlines()))
    project = Project(modules)
    for module in modules:
        for check in CHECKS:
            findings += (found for found in check(module, project) if not module.ignores(found))
    return sorted(findings, key=lambda found: (str(found.path), found.line, found.rule))


def check_paths(paths: Iterable[Path]) -> list[Finding]:
    return check_files(python_files(paths))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the rules of RULES.md ruff cannot see.")
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("src")])
    paths: list[Path] = parser.parse_args(argv).paths
    if missing := [str(path) for path in paths if not path.exists()]:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    files = python_files(paths)
    findings = check_files(files)
    for finding in findings:
        print(finding)
    print(f"rule-guard: {len(findings)} finding(s) in {len(files)} files", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
