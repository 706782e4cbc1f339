"""Rendering helpers shared by the template tests.

A matrix row is rendered once per test worker and reused by every test of that row; tests of one
row carry the same xdist group, so they land on the same worker.
"""

import os
import subprocess
from pathlib import Path

import copier
import pytest
from cookiecutter.main import cookiecutter

from tests.matrix import SUPPORTED_COMBINATIONS, TEMPLATE, row_id

# Service addresses for the generated suites. Defaults match the CI machine (DESIGN section 6).
SERVICE_DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


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
