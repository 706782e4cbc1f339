"""`make dev-embedded` in a generated project: its own servers, the API and worker on them, a clean stop.

The defaults (Celery with the Redis broker) exercise everything the launcher starts. The project
is rendered for this module rather than shared with the row's other tests: the launcher writes
`.embedded/` into it, and as root the embedded PostgreSQL runs as another user, who must reach
the project (pytest's own temporary folders are private). The launcher's environment names the
machine's PostgreSQL and Redis on purpose: the launcher must point its children elsewhere.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psutil
import pytest

from tests import services
from tests.conftest import render_cookiecutter, run

# Slow: renders projects and runs their checks; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

COMMAND = ["uv", "run", "--group", "embedded", "python", "tools/embedded_services.py"]
MACHINE = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/my_service",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
}
READY_TIMEOUT_S = 240  # the first run installs the embedded group
STOP_TIMEOUT_S = 60


def launcher_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, **MACHINE, "ENVIRONMENT": "local", **overrides}
    env.pop("VIRTUAL_ENV", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(
    method: str, url: str, body: object = None, form: str | None = None, token: str = ""
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data, headers["Content-Type"] = form.encode(), "application/x-www-form-urlencoded"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, repr(error)


def psql(url: str, query: str) -> str:
    argv = [services.pg_bin("psql"), url, "-tAc", query]
    return subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def wait_for(condition: Any, timeout_s: float, launcher: subprocess.Popen[bytes], log: Path) -> Any:
    """Poll `condition()` until it returns something truthy; fail with the log if it never does."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        if launcher.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"gave up waiting; launcher output:\n{log.read_text(errors='replace')[-6000:]}"
            )
        time.sleep(0.2)
    return result


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """A default project in a folder any user may pass through, installed with `uv sync`."""
    parent = Path(tempfile.mkdtemp(prefix="embedded-dev-"))
    parent.chmod(0o755)
    try:
        path = render_cookiecutter({}, parent)
        synced = run(["uv", "sync", "--quiet"], path)
        assert synced.returncode == 0, synced.stderr
        yield path
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def embedded_state(project: Path) -> Iterator[Path]:
    """The launcher's data folder, gone before and after each test."""
    state = project / ".embedded"
    shutil.rmtree(state, ignore_errors=True)
    yield state
    shutil.rmtree(state, ignore_errors=True)


@pytest.mark.xdist_group("embedded-dev")
def test_dev_embedded_runs_api_and_worker_on_its_own_servers_and_stops_cleanly(
    project: Path, embedded_state: Path, tmp_path: Path
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    log = tmp_path / "launcher.log"
    with log.open("wb") as output:
        launcher = subprocess.Popen(
            [*COMMAND, "--port", str(port)],
            cwd=project,
            env=launcher_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    tree: list[psutil.Process] = []
    try:
        wait_for(
            lambda: call("GET", f"{api}/health/ready")[0] == 200, READY_TIMEOUT_S, launcher, log
        )
        output_text = log.read_text(errors="replace")
        assert "EMBEDDED services for DEVELOPMENT ONLY" in output_text
        database_url = re.search(r"PostgreSQL \(EMBEDDED\): (\S+)", output_text)[1]  # type: ignore[index]
        redis_url = re.search(r"Redis \(EMBEDDED\): (\S+)", output_text)[1]  # type: ignore[index]
        assert services.address(database_url, 5432)[0] == "127.0.0.1"
        assert services.address(database_url, 5432)[1] != 5432
        assert services.address(redis_url, 6379)[1] != 6379
        assert str(embedded_state / "postgres") in output_text

        # A user signed up through the API is a row in the embedded database.
        email = f"embedded-{uuid4().hex[:12]}@example.com"
        password = "correct horse 42"  # noqa: S105 - a test user's
        status, _ = call(
            "POST",
            f"{api}/auth/signup",
            {"email": email, "password": password, "displayName": "Ada"},
        )
        assert status == 201
        query = f"SELECT count(*) FROM users WHERE email = '{email}'"  # noqa: S608 - our value
        assert psql(database_url, query) == "1"

        # The worker takes a job from the embedded broker and finishes it.
        status, tokens = call(
            "POST", f"{api}/auth/token", form=f"username={email}&password={password}"
        )
        assert status == 200, tokens
        token = tokens["access_token"]
        status, job = call("POST", f"{api}/jobs/account-export", {}, token=token)
        assert status == 202, job

        def finished() -> dict[str, Any] | None:
            status, body = call("GET", f"{api}/jobs/{job['id']}", token=token)
            return body if status == 200 and body["status"] in ("succeeded", "failed") else None

        done = wait_for(finished, 60, launcher, log)
        assert done["status"] == "succeeded", done

        tree = psutil.Process(launcher.pid).children(recursive=True)
        names = {process.name() for process in tree}
        assert {"postgres", "redis-server"} <= names, names
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
        try:
            code = launcher.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            for process in tree:
                process.kill()
            raise
    _, alive = psutil.wait_procs(tree, timeout=STOP_TIMEOUT_S)
    output_text = log.read_text(errors="replace")
    assert alive == [], output_text[-4000:]
    assert code == 0, output_text[-4000:]
    assert "SIGTERM received; everything stopped" in output_text
    # Nothing of the launcher still holds the embedded data folder.
    holders = [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if str(embedded_state) in " ".join(process.info["cmdline"] or [])
    ]
    assert holders == []


@pytest.mark.xdist_group("embedded-dev")
def test_dev_embedded_refuses_to_run_in_production(project: Path, embedded_state: Path) -> None:
    result = subprocess.run(
        COMMAND,
        cwd=project,
        env=launcher_env(ENVIRONMENT="production"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "refusing to start: ENVIRONMENT is production" in result.stderr
    assert "development only" in result.stderr
    assert not embedded_state.exists()
