"""One command: render a default project, run it next to the baselines, measure, report.

    uv run --group dev --group bench python -m bench.run            # full run (make bench)
    uv run --group dev --group bench python -m bench.run --smoke    # a few seconds per scenario

What it does, in order: installs wrk if missing, renders the template with its default answers,
`uv sync`s the project, creates a database `bench_<random>` and migrates it, starts a slow email
upstream, the Celery worker (its own queue) and three servers (the generated service and the two
baselines in bench/baselines, all with uvicorn, uvloop, httptools, one process), seeds users and
posts through the service's API, checks that the three answer with the same JSON, then measures
each scenario for the three apps in turn (A B C, A B C, ...), and finally the event loop's
responsiveness under heavy work. Everything runs on loopback. Every process it started is
stopped and the database dropped at the end, also after a failure or Ctrl-C.

A run fails (exit 1) if any measured request got a non-2xx answer or a socket error.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import loadgen, report

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
SLUG = "my_service"
ADMIN_DATABASE_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BROKER_URL = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway account in a throwaway database
APPS = ("service", "fastapi", "starlette")
UPSTREAM_DELAY_S = 8


@dataclass(frozen=True)
class Plan:
    reps: int
    warmup_s: int
    duration_s: int
    connections: int
    probe_rate: int
    probe_connections: int
    probe_s: int
    ramp_s: int
    responsiveness_reps: int
    # Also probe under each kind of heavy work alone, to see which one costs what.
    each_source_alone: bool
    reader_posts: int
    heavy_posts: int


FULL = Plan(
    reps=3,
    warmup_s=2,
    duration_s=6,
    connections=32,
    probe_rate=100,
    probe_connections=20,
    probe_s=8,
    ramp_s=3,
    # Five, not three: one scheduling stall on a small machine moves a single p99 tenfold.
    responsiveness_reps=5,
    each_source_alone=True,
    reader_posts=25,
    heavy_posts=200,
)
SMOKE = Plan(
    reps=1,
    warmup_s=1,
    duration_s=2,
    connections=8,
    probe_rate=50,
    probe_connections=10,
    probe_s=3,
    ramp_s=1,
    responsiveness_reps=1,
    each_source_alone=False,
    reader_posts=25,
    heavy_posts=40,
)


class BenchError(Exception):
    pass


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads.

    Unlike req/s, this leaves out wrk and whatever else shares the cores: the firmer number for
    comparing what each app spends per request.
    """
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(
    method: str,
    url: str,
    *,
    body: Any = None,
    form: dict[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], Any]:
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
            raw = response.read()
            status, response_headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        raw, status, response_headers = exc.read(), exc.code, dict(exc.headers)
    return status, response_headers, json.loads(raw) if raw else None


def expect(status: int, wanted: int, what: str, body: Any) -> None:
    if status != wanted:
        msg = f"{what}: expected {wanted}, got {status}: {json.dumps(body)[:500]}"
        raise BenchError(msg)


@dataclass
class Processes:
    """Every process the harness starts, each in its own process group, stopped in reverse."""

    logs: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        with (self.logs / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, process))

    def pid(self, name: str) -> int:
        return next(process.pid for started, process in self.started if started == name)

    def log_tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                msg = f"{name} exited with {process.returncode}:\n{self.log_tail(name)}"
                raise BenchError(msg)

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in reversed(self.started):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.started.clear()


@dataclass
class User:
    email: str
    token: str
    post_ids: list[str] = field(default_factory=list)


class Harness:
    def __init__(self, plan: Plan, run_dir: Path) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.project = run_dir / SLUG
        self.venv_bin = self.project / ".venv" / "bin"
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.scripts = run_dir / "wrk"
        self.scripts.mkdir(exist_ok=True)
        self.tag = secrets.token_hex(4)
        self.db_name = f"bench_{self.tag}"
        self.database_url = ADMIN_DATABASE_URL.rsplit("/", 1)[0] + "/" + self.db_name
        self.queue = f"bench_{self.tag}.jobs"
        self.secret_key = secrets.token_urlsafe(48)
        self.ports = {name: free_port() for name in (*APPS, "upstream")}
        self.processes = Processes(self.logs)
        self.db_created = False
        self.users: dict[str, User] = {}
        self.service_overrides: dict[str, str] = {}
        self.only_scenarios: list[str] = []

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    # -- setup -------------------------------------------------------------------------------

    def run(
        self, argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> str:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            msg = f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
            raise BenchError(msg)
        return result.stdout

    def helper(self, *args: str) -> str:
        script = str(TEMPLATE_ROOT / "bench" / "project_helper.py")
        return self.run([str(self.venv_bin / "python"), script, *args])

    def render_and_install(self) -> None:
        log(f"rendering the template (defaults) into {self.run_dir}")
        self.run(
            [
                sys.executable,
                "-m",
                "cookiecutter",
                "--no-input",
                "-o",
                str(self.run_dir),
                str(TEMPLATE_ROOT),
            ]
        )
        uv = shutil.which("uv") or sys.executable
        uv_argv = [uv] if uv != sys.executable else [uv, "-m", "uv"]
        log("uv sync in the generated project")
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        self.run([*uv_argv, "sync", "--quiet"], cwd=self.project, env=env)

    def service_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        env.update(
            ENVIRONMENT="production",
            # Production requires it; every request here goes to the loopback address.
            TRUSTED_HOSTS='["127.0.0.1"]',
            SECRET_KEY=self.secret_key,
            DATABASE_URL=self.database_url,
            REDIS_URL=REDIS_URL,
            CELERY_BROKER_URL=BROKER_URL,
            CELERY_QUEUE=self.queue,
            EMAIL_API_URL=self.url("upstream"),
            EMAIL_API_KEY="bench",
            ACCESS_TOKEN_TTL_MINUTES="240",  # noqa: S106 - a lifetime, not a password
            # The load is one client doing far more than a user would: the per-user and
            # per-address limits are raised above it, so they are not what is measured.
            SIGNUP_MAX_PER_ADDRESS="100000",
            SIGNUP_MAX_OVERALL="1000000",
            LOGIN_MAX_ATTEMPTS_PER_ADDRESS="100000",
            JOBS_MAX_ACTIVE_PER_USER="1000000",
            PROCESS_POOL_MAX_PENDING="10000",
            PROCESS_POOL_MAX_PER_CALLER="10000",
            BENCH_DATABASE_URL=self.database_url,
            BENCH_SECRET_KEY=self.secret_key,
            TOKEN_ISSUER=SLUG,
            TOKEN_AUDIENCE=SLUG,
            BENCH_TOKEN_ISSUER=SLUG,
            BENCH_TOKEN_AUDIENCE=SLUG,
            BENCH_CELERY_BROKER_URL=BROKER_URL,
            BENCH_CELERY_QUEUE=self.queue,
            BENCH_UPSTREAM_DELAY=str(UPSTREAM_DELAY_S),
        )
        return env

    def create_database(self) -> None:
        log(f"creating database {self.db_name} and migrating it")
        self.helper("create-db", ADMIN_DATABASE_URL, self.db_name)
        self.db_created = True
        self.run(
            [str(self.venv_bin / "alembic"), "upgrade", "head"],
            cwd=self.project,
            env=self.service_env(),
        )

    def uvicorn_argv(self, target: str, port: int, *extra: str) -> list[str]:
        # The same server settings for every app: uvloop, httptools, one process, loopback.
        return [
            str(self.venv_bin / "uvicorn"),
            target,
            *extra,
            "--host=127.0.0.1",
            f"--port={port}",
            "--loop=uvloop",
            "--http=httptools",
            "--workers=1",
            "--no-access-log",
            "--no-server-header",
        ]

    def start_everything(self) -> None:
        env = self.service_env()
        app_dir = f"--app-dir={TEMPLATE_ROOT}"
        log("starting the slow upstream, the Celery worker and the three servers")
        self.processes.start(
            "upstream",
            self.uvicorn_argv("bench.slow_upstream:app", self.ports["upstream"], app_dir),
            env,
            self.project,
        )
        self.processes.start(
            "worker",
            [
                str(self.venv_bin / "celery"),
                f"--app={SLUG}.worker",
                "worker",
                f"--hostname=bench-{self.tag}@localhost",
                f"--queues={self.queue}",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            env,
            self.project,
        )
        self.processes.start(
            "service",
            self.uvicorn_argv(f"{SLUG}.main:create_app", self.ports["service"], "--factory"),
            env | self.service_overrides,
            self.project,
        )
        for name in ("fastapi", "starlette"):
            self.processes.start(
                name,
                self.uvicorn_argv(f"bench.baselines.{name}_app:app", self.ports[name], app_dir),
                env,
                self.project,
            )
        for name in (*APPS, "upstream"):
            self.wait_until_serving(name)
        self.wait_for_worker()

    def wait_until_serving(self, name: str) -> None:
        path = "/stats" if name == "upstream" else "/health/live"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.processes.check_alive()
            try:
                if http("GET", self.url(name) + path, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        msg = f"{name} did not answer within 60 s:\n{self.processes.log_tail(name)}"
        raise BenchError(msg)

    def wait_for_worker(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.processes.check_alive()
            if " ready." in self.processes.log_tail("worker"):
                return
            time.sleep(0.3)
        msg = f"the Celery worker did not start:\n{self.processes.log_tail('worker')}"
        raise BenchError(msg)

    # -- data --------------------------------------------------------------------------------

    def sign_up(self, role: str) -> User:
        email = f"bench-{role}-{self.tag}@example.com"
        base = self.url("service")
        status, _, body = http(
            "POST",
            base + "/auth/signup",
            body={"email": email, "password": PASSWORD, "displayName": role},
        )
        expect(status, 201, f"sign-up of {role}", body)
        status, _, body = http(
            "POST", base + "/auth/token", form={"username": email, "password": PASSWORD}
        )
        expect(status, 200, f"login of {role}", body)
        return User(email, body["access_token"])

    def add_posts(self, user: User, count: int, words: int, rng: random.Random) -> None:
        vocabulary = [
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
            for _ in range(2000)
        ]
        for n in range(count):
            text = " ".join(rng.choice(vocabulary) for _ in range(words))
            body = {"title": f"Post {n}", "body": f"{text[:19_990].rstrip()}."}
            status, _, created = http(
                "POST", self.url("service") + "/posts", body=body, token=user.token
            )
            expect(status, 201, "seeding a post", created)
            user.post_ids.append(created["id"])

    def seed(self) -> None:
        log("seeding users and posts through the service's API")
        rng = random.Random(8)  # noqa: S311 - reproducible filler text
        # reader: list/read/jobs scenarios (its row counts never change); writer: create-post;
        # heavy: the expensive analysis and report requests of the responsiveness scenario.
        self.users = {role: self.sign_up(role) for role in ("reader", "writer", "heavy", "other")}
        # submit job: as many callers as connections, so the per-user limit on active jobs
        # (one lock and one count per submission) sees what a real user has, not all the load.
        self.submitters = [self.sign_up(f"submitter-{n}") for n in range(self.plan.connections)]
        self.add_posts(self.users["reader"], self.plan.reader_posts, 60, rng)
        self.add_posts(self.users["heavy"], 1, 3000, rng)  # one maximal post for the analysis
        self.add_posts(self.users["heavy"], self.plan.heavy_posts - 1, 300, rng)
        self.add_posts(self.users["other"], 1, 20, rng)

    def scenarios(self) -> dict[str, loadgen.Load]:
        reader, writer = self.users["reader"], self.users["writer"]
        return {
            "health": loadgen.Load("GET", "/health/live"),
            "list posts": loadgen.Load("GET", "/posts", token=reader.token),
            "read post": loadgen.Load("GET", f"/posts/{reader.post_ids[0]}", token=reader.token),
            "create post": loadgen.Load(
                "POST",
                "/posts",
                token=writer.token,
                body=json.dumps({"title": "A benchmark post", "body": "Short and to the point."}),
            ),
            "submit job": loadgen.Load(
                "POST",
                "/posts/report",
                tokens=tuple(user.token for user in self.submitters),
                body=json.dumps({"maxPosts": 100, "similarityThreshold": 0.9}),
            ),
        }

    def check_same_answers(self) -> None:
        """Refuse to compare apps that do not do the same thing."""
        log("checking that the three apps give the same answers")
        reader, writer, other = self.users["reader"], self.users["writer"], self.users["other"]
        answers: dict[str, dict[str, Any]] = {}
        for app in APPS:
            base = self.url(app)
            got: dict[str, Any] = {}
            status, _, got["list"] = http("GET", base + "/posts", token=reader.token)
            expect(status, 200, f"{app} list", got["list"])
            status, _, got["read"] = http(
                "GET", f"{base}/posts/{reader.post_ids[0]}", token=reader.token
            )
            expect(status, 200, f"{app} read", got["read"])
            status, _, body = http("GET", base + "/posts", token=None)
            expect(status, 401, f"{app} list without a token", body)
            status, _, body = http("GET", f"{base}/posts/{other.post_ids[0]}", token=reader.token)
            expect(status, 403, f"{app} reading someone else's post", body)
            status, _, created = http(
                "POST", base + "/posts", token=writer.token, body={"title": " t ", "body": "b"}
            )
            expect(status, 201, f"{app} create", created)
            got["create"] = {k: type(v).__name__ for k, v in created.items()}
            got["create_values"] = (created["title"], created["body"], created["authorId"])
            status, headers, job = http(
                "POST", base + "/posts/report", token=reader.token, body={"maxPosts": 100}
            )
            expect(status, 202, f"{app} submit job", job)
            if "/jobs/" + job["id"] not in headers.get("location", headers.get("Location", "")):
                msg = f"{app} submit job: no Location header naming the job"
                raise BenchError(msg)
            got["job"] = {k: v for k, v in job.items() if k not in ("id", "createdAt")}
            answers[app] = got
        for app in APPS[1:]:
            for key, value in answers["service"].items():
                if answers[app][key] != value:
                    msg = f"{app} answers {key} differently from the service:\n{answers[app][key]}\n!=\n{value}"
                    raise BenchError(msg)

    def purge_queue(self) -> None:
        # Only our own queue: the jobs queued by a measurement are not worth running. Their rows
        # are marked failed, as they will never run, so they stop counting as active jobs.
        self.run(
            [
                str(self.venv_bin / "celery"),
                f"--app={SLUG}.worker",
                "purge",
                "-f",
                f"--queues={self.queue}",
            ],
            cwd=self.project,
            env=self.service_env(),
        )
        self.helper("fail-queued", self.database_url)

    # -- measurements ------------------------------------------------------------------------

    def wrk(self, app: str, load: loadgen.Load, name: str, **kwargs: Any) -> loadgen.Result:
        script = self.scripts / f"{name.replace(' ', '_')}.lua"
        pid = self.processes.pid(app)
        cpu_before = process_cpu_seconds(pid)
        result = loadgen.run(load, self.url(app), script, **kwargs)
        result.server_cpu_s = process_cpu_seconds(pid) - cpu_before
        if result.errors:
            msg = (
                f"{name} on {app}: {result.non2xx} non-2xx answers and {result.socket_errors} "
                f"socket errors in {result.requests} requests; first: {result.first_bad}"
            )
            raise BenchError(msg)
        return result

    def measure_throughput(self) -> dict[str, dict[str, list[loadgen.Result]]]:
        plan = self.plan
        results: dict[str, dict[str, list[loadgen.Result]]] = {}
        for scenario, load in self.scenarios().items():
            if self.only_scenarios and scenario not in self.only_scenarios:
                continue
            results[scenario] = {app: [] for app in APPS}
            for rep in range(plan.reps):
                for app in APPS:
                    self.processes.check_alive()
                    self.wrk(
                        app,
                        load,
                        f"{scenario} warm-up",
                        connections=plan.connections,
                        seconds=plan.warmup_s,
                    )
                    result = self.wrk(
                        app, load, scenario, connections=plan.connections, seconds=plan.duration_s
                    )
                    results[scenario][app].append(result)
                    log(
                        f"{scenario:12} {app:9} run {rep + 1}: {result.rps:8.0f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                        f"server CPU {result.cpu_us_per_request:5.0f} µs/req"
                    )
                    if scenario == "submit job":
                        self.purge_queue()
        return results

    def heavy_loads(self) -> dict[str, tuple[loadgen.Load, dict[str, Any]]]:
        heavy = self.users["heavy"]
        seconds = self.plan.ramp_s + self.plan.probe_s + 1
        signup = {
            # unique per wrk run and per request: wrk fills in {n}
            "email": f"load-{self.tag}-{secrets.token_hex(3)}-{{n}}@example.com",
            "password": PASSWORD,
            "displayName": "load",
        }
        return {
            # The process pool: more analyses waiting than it has processes, all the time.
            "process pool": (
                loadgen.Load("GET", f"/posts/{heavy.post_ids[0]}/analysis", token=heavy.token),
                {"connections": 4, "seconds": seconds},
            ),
            # The worker: reports over the heavy user's posts (about 1 s of CPU each) arrive
            # faster than its processes finish them.
            "worker": (
                loadgen.Load(
                    "POST", "/posts/report", token=heavy.token, body=json.dumps({"maxPosts": 5000})
                ),
                {"connections": 2, "seconds": seconds, "rate": 3},
            ),
            # The HTTP client: every sign-up sends a verification email (a background task) to an
            # upstream that answers after UPSTREAM_DELAY_S, so many requests wait at once.
            "slow upstream": (
                loadgen.Load("POST", "/auth/signup", body=json.dumps(signup), unique_body=True),
                {"connections": 4, "seconds": seconds, "rate": 1},
            ),
        }

    def job_stats(self) -> dict[str, int]:
        stats: dict[str, int] = json.loads(self.helper("job-stats", self.database_url))
        return stats

    def loaded_probe(
        self, sources: list[str], probe: loadgen.Load, probe_args: dict[str, Any]
    ) -> tuple[loadgen.Result, dict[str, loadgen.Result], dict[str, Any]]:
        """Start the heavy loads named, let them ramp up, probe, collect everything."""
        http("POST", self.url("upstream") + "/reset")
        watch_jobs = "worker" in sources
        jobs_before = self.job_stats() if watch_jobs else {}
        running = []
        for name, (load, kwargs) in self.heavy_loads().items():
            if name in sources:
                script = self.scripts / f"heavy_{name.replace(' ', '_')}.lua"
                running.append((name, loadgen.start(load, self.url("service"), script, **kwargs)))
        time.sleep(self.plan.ramp_s)
        probe_result = self.wrk("service", probe, "probe", **probe_args)
        heavy: dict[str, loadgen.Result] = {}
        for name, process in running:
            heavy[name] = result = loadgen.finish(process)
            if result.errors:
                msg = (
                    f"heavy load {name}: {result.non2xx} non-2xx, {result.socket_errors} "
                    f"socket errors; first: {result.first_bad}"
                )
                raise BenchError(msg)
        jobs_after = self.job_stats() if watch_jobs else {}
        extra = {
            "upstream_max_in_flight": http("GET", self.url("upstream") + "/stats")[2][
                "max_in_flight"
            ],
            "jobs_finished": jobs_after.get("succeeded", 0) - jobs_before.get("succeeded", 0),
        }
        if "worker" in sources:
            self.purge_queue()
        return probe_result, heavy, extra

    def measure_responsiveness(self) -> dict[str, Any]:
        """/health/live at a fixed rate: idle, under each kind of heavy work, under all three."""
        plan = self.plan
        probe = loadgen.Load("GET", "/health/live")
        probe_args = {
            "connections": plan.probe_connections,
            "seconds": plan.probe_s,
            "rate": plan.probe_rate,
        }
        conditions: dict[str, list[str]] = {"idle": []}
        if plan.each_source_alone:
            conditions |= {name: [name] for name in self.heavy_loads()}
        conditions["all three"] = list(self.heavy_loads())
        results: dict[str, dict[str, Any]] = {
            name: {"probe": [], "heavy": {}, "extra": []} for name in conditions
        }
        for rep in range(plan.responsiveness_reps):
            for name, sources in conditions.items():
                self.processes.check_alive()
                probe_result, heavy, extra = self.loaded_probe(sources, probe, probe_args)
                entry = results[name]
                entry["probe"].append(probe_result)
                entry["extra"].append(extra)
                for source, result in heavy.items():
                    entry["heavy"].setdefault(source, []).append(result)
                log(
                    f"probe {name:13} run {rep + 1}: {probe_result.rps:5.0f} req/s  "
                    f"p50 {probe_result.p50_ms:6.2f} ms  p99 {probe_result.p99_ms:6.2f} ms  "
                    + "  ".join(f"{s} {r.rps:.1f}/s" for s, r in heavy.items())
                )
        return results

    def profile(self, scenarios: list[str], out: Path, app: str = "service") -> None:
        """Sample one app with py-spy while wrk runs one scenario against it."""
        pid = next(p.pid for name, p in self.processes.started if name == app)
        uv = shutil.which("uv")
        uv_argv = [uv] if uv else [sys.executable, "-m", "uv"]
        seconds = 12
        for scenario in scenarios:
            load = self.scenarios()[scenario]
            self.wrk(
                app,
                load,
                f"{scenario} warm-up",
                connections=self.plan.connections,
                seconds=self.plan.warmup_s,
            )
            raw = out / f"profile-{app}-{scenario.replace(' ', '_')}.txt"
            spy = subprocess.Popen(
                [
                    *uv_argv,
                    "tool",
                    "run",
                    "--from",
                    "py-spy>=0.4,<1",
                    "py-spy",
                    "record",
                    "--pid",
                    str(pid),
                    f"--duration={seconds}",
                    "--rate=250",
                    "--nonblocking",
                    "--format=raw",
                    f"--output={raw}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            time.sleep(2)  # py-spy attaches
            result = self.wrk(
                app, load, scenario, connections=self.plan.connections, seconds=seconds - 3
            )
            spy.wait(timeout=120)
            if scenario == "submit job":
                self.purge_queue()
            summary = report.profile_summary(raw)
            raw.with_suffix(".summary.txt").write_text(summary)
            log(f"profiled {scenario}: {result.rps:.0f} req/s while sampled; {raw}")
            print(summary)

    def versions(self) -> dict[str, str]:
        found: dict[str, str] = json.loads(self.helper("versions", self.database_url))
        wrk = subprocess.run(
            [loadgen.wrk_binary() or "wrk", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        found["wrk"] = (wrk.stdout or wrk.stderr).split("[")[0].replace("wrk", "").strip()
        return found

    # -- teardown ----------------------------------------------------------------------------

    def cleanup(self) -> None:
        self.processes.stop_all()
        if self.db_created and BROKER_URL.startswith("redis"):
            try:
                self.helper("drop-queue", BROKER_URL, self.queue)
            except BenchError as exc:
                log(f"could not delete queue {self.queue}: {exc}")
        if self.db_created:
            try:
                self.helper("drop-db", ADMIN_DATABASE_URL, self.db_name)
                log(f"dropped database {self.db_name}")
            except BenchError as exc:
                log(f"could not drop database {self.db_name}: {exc}")


def ensure_wrk() -> None:
    if loadgen.wrk_binary():
        return
    apt = shutil.which("apt-get")
    if apt is None:
        msg = "wrk is not installed and apt-get is not available: install wrk (https://github.com/wg/wrk)"
        raise BenchError(msg)
    log("installing wrk (apt-get)")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    for argv in ([*prefix, apt, "update"], [*prefix, apt, "install", "-y", "wrk"]):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    if not loadgen.wrk_binary():
        msg = "apt-get did not install wrk"
        raise BenchError(msg)


def summarise(
    throughput: dict[str, dict[str, list[loadgen.Result]]], responsiveness: dict[str, Any]
) -> dict[str, Any]:
    def med(results: list[loadgen.Result], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results)

    rows = []
    for scenario, by_app in throughput.items():
        for app, results in by_app.items():
            rows.append(
                {
                    "scenario": scenario,
                    "app": app,
                    "rps": med(results, "rps"),
                    "p50_ms": med(results, "p50_ms"),
                    "p99_ms": med(results, "p99_ms"),
                    "cpu_us": med(results, "cpu_us_per_request"),
                    "errors": sum(r.errors for r in results),
                    "requests": sum(r.requests for r in results),
                    "runs": [round(r.rps) for r in results],
                }
            )
    conditions = {}
    for name, entry in responsiveness.items():
        probes = entry["probe"]
        conditions[name] = {
            "rps": med(probes, "rps"),
            "p50_ms": med(probes, "p50_ms"),
            "p99_ms": med(probes, "p99_ms"),
            "p99_runs": [round(r.p99_ms, 2) for r in probes],
            "errors": sum(r.errors for r in probes),
            "heavy": {
                source: {"rps": med(results, "rps"), "p99_ms": med(results, "p99_ms")}
                for source, results in entry["heavy"].items()
            },
            "upstream_max_in_flight": max(x["upstream_max_in_flight"] for x in entry["extra"]),
            "jobs_finished_per_run": statistics.median(x["jobs_finished"] for x in entry["extra"]),
        }
    return {"throughput": rows, "responsiveness": conditions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds per scenario, one run")
    parser.add_argument(
        "--out",
        type=Path,
        help="results folder (default: bench/results, or a temp dir with --smoke)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the rendered project and logs")
    parser.add_argument("--label", default="", help="a note written into the results")
    parser.add_argument(
        "--profile",
        action="append",
        metavar="SCENARIO",
        help="instead of measuring, profile the service with py-spy under this scenario's load "
        "(repeatable); writes profile-<scenario>.txt (collapsed stacks) and a summary",
    )
    parser.add_argument("--profile-app", choices=APPS, default="service")
    parser.add_argument(
        "--scenario", action="append", help="measure only this scenario (repeatable)"
    )
    parser.add_argument(
        "--no-responsiveness", action="store_true", help="skip the event-loop measurement"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the generated service only, e.g. LOG_LEVEL=WARNING (repeatable)",
    )
    args = parser.parse_args(argv)

    plan = SMOKE if args.smoke else FULL
    # Only a complete full run with the service's own settings is "the" result.
    complete = not (
        args.smoke or args.profile or args.scenario or args.no_responsiveness or args.service_env
    )
    out = args.out or (
        TEMPLATE_ROOT / "bench" / "results" if complete else Path(tempfile.mkdtemp(prefix="bench-"))
    )
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-run-"))
    started = time.monotonic()
    load_before = os.getloadavg()

    # Ctrl-C or a kill: stop everything we started before leaving.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    harness = Harness(plan, run_dir)
    harness.service_overrides = dict(item.split("=", 1) for item in args.service_env)
    harness.only_scenarios = args.scenario or []
    ok = False
    try:
        ensure_wrk()
        harness.render_and_install()
        harness.create_database()
        harness.start_everything()
        harness.seed()
        harness.check_same_answers()
        versions = harness.versions()
        if args.profile:
            harness.profile(args.profile, out, args.profile_app)
            ok = True
            return 0
        log(
            f"measuring: {len(harness.scenarios())} scenarios x {len(APPS)} apps x {plan.reps} runs"
        )
        throughput = harness.measure_throughput()
        responsiveness = {}
        if not args.no_responsiveness:
            log("measuring event-loop responsiveness")
            responsiveness = harness.measure_responsiveness()
        summary = summarise(throughput, responsiveness)
        summary["environment"] = {
            "service_env": harness.service_overrides,
            "cpus": os.cpu_count(),
            "cpu_model": report.cpu_model(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "versions": versions,
            "mode": "smoke" if args.smoke else "full",
            "plan": plan.__dict__,
            "label": args.label,
            "seconds": round(time.monotonic() - started),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        report.write(summary, out)
        if complete and args.out is None:
            report.update_readme(TEMPLATE_ROOT / "README.md", out / "latest.md")
        log(f"done in {summary['environment']['seconds']} s: {out / 'latest.md'}")
        print((out / "latest.md").read_text())
        ok = True
    except BenchError as exc:
        log(f"FAILED: {exc}")
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        harness.cleanup()
        if ok and not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            log(f"logs and the rendered project are in {run_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
