"""Rendering helpers shared by the template tests.

A matrix row is rendered once per test worker and reused by every test of that row; tests of one
row carry the same xdist group, so they land on the same worker.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import copier
import pytest
import yaml
from cookiecutter.main import cookiecutter

from tests import services
from tests.matrix import SUPPORTED_COMBINATIONS, TEMPLATE, row_id

# Service addresses for the generated suites. Defaults match the CI machine (README, "Running the tests");
# tests/services.py decides at the start of the run what is used instead when they do not answer.
SERVICE_DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",  # RabbitMQ, for that row only
}
RESOLUTION = pytest.StashKey[services.Resolution]()


def pytest_configure(config: pytest.Config) -> None:
    """Find or start the services once, in the controller, before any xdist worker exists."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: it inherited the controller's environment
    workdir = Path(tempfile.mkdtemp(prefix="template-services-"))
    workdir.chmod(0o755)  # an embedded PostgreSQL may run as another user (services.py)
    try:
        resolution = services.resolve(os.environ, SERVICE_DEFAULTS, workdir)
    except services.ServiceMissingError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise pytest.UsageError(str(exc)) from None
    os.environ.update(resolution.env)
    if resolution.rabbitmq_missing:
        os.environ[services.RABBITMQ_MISSING] = resolution.rabbitmq_missing
    config.stash[RESOLUTION] = resolution
    config.add_cleanup(lambda: shutil.rmtree(workdir, ignore_errors=True))
    config.add_cleanup(resolution.stop)


def pytest_report_header(config: pytest.Config) -> list[str]:
    resolution = config.stash.get(RESOLUTION, None)
    return ["services: " + line for line in resolution.report] if resolution else []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    resolution = terminalreporter.config.stash.get(RESOLUTION, None)
    if resolution and (resolution.started or resolution.rabbitmq_missing):
        terminalreporter.section("services")
        for line in resolution.report:
            terminalreporter.write_line(line)


def require_broker(project: Path) -> None:
    """Not run, with the reason, when the project needs a RabbitMQ that is missing outside CI."""
    if os.environ.get("CI", "").lower() == "true":
        return  # never left out in CI (services.resolve has already stopped such a run)
    if project_broker(project) == "rabbitmq" and (
        reason := os.environ.get(services.RABBITMQ_MISSING)
    ):
        pytest.skip(reason)


def project_broker(project: Path) -> str | None:
    """The project's Celery broker from its recorded answers (None without Celery)."""
    answers_file = project / ".copier-answers.yml"
    if not answers_file.exists():
        return None
    answers = yaml.safe_load(answers_file.read_text())
    return answers.get("celery_broker") if answers.get("include_celery") == "y" else None


def render_cookiecutter(overrides: dict[str, str], output_dir: Path) -> Path:
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=overrides, output_dir=str(output_dir)
        )
    )


def render_copier(overrides: dict[str, str], destination: Path) -> Path:
    copier.run_copy(str(TEMPLATE), destination, data=overrides, defaults=True, quiet=True)
    return destination


def run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run a command in a rendered project with the service addresses in its environment."""
    env = {**os.environ, **{k: os.environ.get(k, v) for k, v in SERVICE_DEFAULTS.items()}}
    if project_broker(cwd) == "redis":  # a Redis broker lives on the REDIS_URL server, database 1
        env["CELERY_BROKER_URL"] = urlunsplit(urlsplit(env["REDIS_URL"])._replace(path="/1"))
    env.pop("VIRTUAL_ENV", None)  # let uv use the project's own .venv
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def matrix_params() -> list[object]:
    return [
        pytest.param(
            overrides, id=row_id(overrides), marks=pytest.mark.xdist_group(row_id(overrides))
        )
        for overrides in SUPPORTED_COMBINATIONS
    ]


_rendered: dict[str, Path] = {}


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The row's project rendered by cookiecutter and installed with `uv sync` (once per worker)."""
    overrides: dict[str, str] = request.param
    key = row_id(overrides)
    if key not in _rendered:
        path = render_cookiecutter(overrides, tmp_path_factory.mktemp(f"cc-{key[:40]}"))
        synced = run(["uv", "sync", "--quiet"], path)
        assert synced.returncode == 0, f"uv sync failed in {path}:\n{synced.stderr}"
        _rendered[key] = path
    return _rendered[key]
