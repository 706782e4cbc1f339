"""How the template tests find their services (tests/services.py), with addresses nobody answers."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.conftest import require_broker
from tests.matrix import TEMPLATE


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound without listen, so connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def nothing_answers(closed_port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port}/postgres",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
        "CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{closed_port}//",
    }


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not under tmp_path: pytest makes that private to us, and as root the embedded PostgreSQL
    # runs as another user, who must reach its data directory (as in conftest.pytest_configure).
    path = Path(tempfile.mkdtemp(prefix="template-services-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def psql(url: str, query: str) -> str:
    argv = [services.pg_bin("psql"), url, "-tAc", query]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout


def redis_command(url: str, command: bytes) -> bytes:
    host, port = services.address(url, 6379)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(command)
        return sock.recv(64)


def test_outside_ci_missing_postgres_and_redis_are_embedded_and_answer(
    nothing_answers: dict[str, str], closed_port: int, workdir: Path
) -> None:
    resolution = services.resolve({}, nothing_answers, workdir)
    started = list(resolution.started)
    try:
        assert [server.name for server in resolution.started] == ["PostgreSQL", "Redis"]
        database_url = resolution.env["DATABASE_URL"]
        redis_url = resolution.env["REDIS_URL"]
        assert services.address(database_url, 5432)[1] not in (closed_port, 5432)
        assert services.address(redis_url, 6379)[1] not in (closed_port, 6379)
        assert psql(database_url, "SELECT 40 + 2").strip() == "42"
        # The embedded server is a fresh one of our own: it knows no database but the initial ones.
        assert psql(database_url, "SELECT count(*) FROM pg_database").strip() == "3"
        assert redis_command(redis_url, b"PING\r\n") == b"+PONG\r\n"
        assert "CELERY_BROKER_URL" not in resolution.env
        assert resolution.rabbitmq_missing is not None
        assert (
            f"RabbitMQ is not reachable at 127.0.0.1:{closed_port}" in resolution.rabbitmq_missing
        )
        assert "docker run -d -p 5672:5672 rabbitmq" in resolution.rabbitmq_missing
        assert any(line.startswith("PostgreSQL: EMBEDDED at") for line in resolution.report)
    finally:
        resolution.stop()
    assert [server.process.poll() is None for server in started] == [False, False]
    assert sorted(path.name for path in workdir.iterdir()) == ["postgres.log", "redis.log"]


def test_with_ci_a_missing_postgres_fails_the_run_naming_it(
    nothing_answers: dict[str, str], closed_port: int, workdir: Path
) -> None:
    with pytest.raises(services.ServiceMissingError) as failure:
        services.resolve({"CI": "true"}, nothing_answers, workdir)
    message = str(failure.value)
    assert message.startswith(f"CI=true and PostgreSQL is not reachable at 127.0.0.1:{closed_port}")
    assert "set DATABASE_URL" in message
    assert list(workdir.iterdir()) == []  # nothing was embedded


@pytest.mark.parametrize(
    ("service", "answering"),
    [("Redis", ["DATABASE_URL"]), ("RabbitMQ", ["DATABASE_URL", "REDIS_URL"])],
)
def test_with_ci_a_missing_redis_or_rabbitmq_fails_the_run_naming_it(
    service: str,
    answering: list[str],
    nothing_answers: dict[str, str],
    closed_port: int,
    workdir: Path,
) -> None:
    # The services before the one under test are given: the ones this run uses, which answer.
    environ = {"CI": "true", **{name: os.environ[name] for name in answering}}
    with pytest.raises(services.ServiceMissingError) as failure:
        services.resolve(environ, nothing_answers, workdir)
    assert str(failure.value).startswith(
        f"CI=true and {service} is not reachable at 127.0.0.1:{closed_port}"
    )
    assert list(workdir.iterdir()) == []


def test_an_address_given_that_does_not_answer_fails_instead_of_embedding(
    nothing_answers: dict[str, str], closed_port: int, workdir: Path
) -> None:
    given = {"DATABASE_URL": nothing_answers["DATABASE_URL"]}
    with pytest.raises(services.ServiceMissingError) as failure:
        services.resolve(given, nothing_answers, workdir)
    assert str(failure.value).startswith(
        f"PostgreSQL is not reachable at 127.0.0.1:{closed_port}, the address DATABASE_URL gives"
    )
    assert list(workdir.iterdir()) == []


def test_make_test_with_ci_stops_at_once_naming_the_missing_service(closed_port: int) -> None:
    env = {
        **os.environ,
        "CI": "true",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "--co", "-q"],
        cwd=TEMPLATE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert f"Redis is not reachable at 127.0.0.1:{closed_port}" in result.stderr
    assert "collected" not in result.stdout


def test_only_a_rabbitmq_project_is_left_out_and_never_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = {}
    for broker in ("rabbitmq", "redis"):
        projects[broker] = tmp_path / broker
        projects[broker].mkdir()
        answers = f"include_celery: y\ncelery_broker: {broker}\n"
        (projects[broker] / ".copier-answers.yml").write_text(answers)
    monkeypatch.setenv(services.RABBITMQ_MISSING, "RabbitMQ is not reachable at 127.0.0.1:5672")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="RabbitMQ is not reachable"):
        require_broker(projects["rabbitmq"])
    require_broker(projects["redis"])
    monkeypatch.setenv("CI", "true")
    require_broker(projects["rabbitmq"])
