"""The service as it runs in production: `uvicorn --factory` in a process of its own.

Used by the tests that need a real server process: the soak test (memory and CPU time measured
apart from the load generator's), the shutdown test (a real SIGTERM) and the abuse tests (what
one hostile client can do to a real server's memory and event loop).
"""

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings

START_TIMEOUT_S = 60


def json_lines(log_path: Path) -> list[dict[str, Any]]:
    """Every JSON line a process has logged so far (its other lines are left out)."""
    events = []
    for line in log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


@dataclass
class Server:
    base_url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def rss_bytes(self) -> int:
        """Resident memory of the server process."""
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def reset_peak_rss(self) -> None:
        """Start `peak_rss_bytes` afresh from the current memory (Linux; elsewhere, nothing)."""
        clear_refs = Path(f"/proc/{self.process.pid}/clear_refs")
        if clear_refs.exists():
            clear_refs.write_text("5")  # 5: reset the high-water mark (proc(5))

    def peak_rss_bytes(self) -> int:
        """The most resident memory the server process has had since `reset_peak_rss` (Linux;
        elsewhere, the current)."""
        status = Path(f"/proc/{self.process.pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):  # the high-water mark, in kB
                    return int(line.split()[1]) * 1024
        return self.rss_bytes()

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system)."""
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def log_events(self) -> list[dict[str, Any]]:
        return json_lines(self.log_path)


@asynccontextmanager
async def uvicorn_process(
    settings: Settings,
    log_path: Path,
    *,
    uvicorn_args: tuple[str, ...] = (),
    **env_overrides: str,
) -> AsyncIterator[Server]:
    """`uvicorn --factory` on a loopback socket the test opened; yields once /health/ready is 200.

    `env_overrides` are settings for the service (`REQUEST_BODY_TIMEOUT="1"`), `uvicorn_args`
    options for the server (`("--timeout-keep-alive", "1")`).
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    env = {
        **os.environ,  # noqa: TID251 - the server process inherits this environment
        "ENVIRONMENT": settings.environment.value,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "LOG_FORMAT": "json",
        "RATE_LIMIT_KEY_PREFIX": settings.rate_limit_key_prefix,
        **env_overrides,
    }
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "{{ cookiecutter.project_slug }}.main:create_app",
        "--fd",
        str(sock.fileno()),
        "--no-access-log",  # the service logs each request itself
        *uvicorn_args,
    ]
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT, pass_fds=[sock.fileno()]
        )
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # the server holds its own copy
    server = Server(base_url, process, log_path)
    try:
        async with asyncio.timeout(START_TIMEOUT_S), httpx.AsyncClient(base_url=base_url) as client:
            while True:
                if process.returncode is not None:
                    pytest.fail(f"uvicorn exited with {process.returncode}:\n{server.log_tail()}")
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
