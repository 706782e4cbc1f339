"""The Celery app is configured from Settings, and a real worker process answers on the broker."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.workers import start_worker

# Imports every module of the package except the worker's own (its entry point and the tasks it
# runs), builds the app, and lists which of the package's modules ended up imported.
IMPORT_THE_API = """
import importlib, pkgutil, sys
import {{ cookiecutter.project_slug }}
from {{ cookiecutter.project_slug }}.main import create_app

for module in pkgutil.walk_packages({{ cookiecutter.project_slug }}.__path__, "{{ cookiecutter.project_slug }}."):
    if module.name != "{{ cookiecutter.project_slug }}.worker" and not module.name.endswith(".tasks"):
        importlib.import_module(module.name)
create_app()
print("\\n".join(sorted(name for name in sys.modules if name.startswith("{{ cookiecutter.project_slug }}."))))
"""


def test_the_api_never_imports_the_worker_runtime(tmp_path: Path) -> None:
    # The worker's signal handlers (its event loop, CPU priority, metrics) must not run in the
    # API: a fresh interpreter imports the API and every service module, and the worker's module
    # must not be among what it loaded.
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", IMPORT_THE_API],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    imported = result.stdout.split()
    # The check saw the whole package, and the worker's modules were not in it.
    assert "{{ cookiecutter.project_slug }}.core.celery" in imported
    assert "{{ cookiecutter.project_slug }}.worker" not in imported
    assert not [name for name in imported if name.endswith(".tasks")]


def test_celery_takes_its_broker_and_safety_settings_from_settings(base_settings: Settings) -> None:
    celery = create_celery(base_settings)
    assert celery.conf.broker_url == str(base_settings.celery_broker_url)
    assert celery.conf.task_default_queue == base_settings.celery_queue
    assert celery.conf.task_acks_late is True
    assert celery.conf.task_reject_on_worker_lost is True
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.accept_content == ["json"]
    assert celery.conf.task_serializer == "json"


def test_the_broker_is_the_one_settings_name_whatever_the_environment_says(
    base_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Celery reads CELERY_BROKER_URL from the environment by itself, over its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "{{ cookiecutter.celery_broker }}://elsewhere.invalid:1/")
    celery = create_celery(base_settings)
    expected = urlsplit(str(base_settings.celery_broker_url))
    for connection in (celery.connection_for_write(), celery.connection_for_read()):
        with connection:
            assert (connection.hostname, connection.port) == (expected.hostname, expected.port)


def test_worker_process_answers_a_ping_and_stops_cleanly(
    base_settings: Settings, tmp_path: Path
) -> None:
    worker = start_worker(base_settings, tmp_path / "worker.log")
    replies = create_celery(base_settings).control.ping(destination=[worker.name], timeout=5)
    worker.stop()
    assert [list(reply) for reply in replies or []] == [[worker.name]]
    assert worker.process.returncode == 0  # warm shutdown, not killed


def test_worker_and_its_pool_run_below_the_apis_priority(
    base_settings: Settings, tmp_path: Path
) -> None:
    worker = start_worker(
        base_settings, tmp_path / "worker.log", pool="prefork", BACKGROUND_NICENESS="6"
    )
    try:
        main = psutil.Process(worker.process.pid)
        children = main.children()
        niceness = [main.nice(), *(child.nice() for child in children)]
    finally:
        worker.stop()
    assert len(children) == 2  # --concurrency 2
    assert niceness == [os.nice(0) + 6] * 3
