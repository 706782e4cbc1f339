"""Bad answers are refused by both tools with one clear message, and nothing is written."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.matrix import TEMPLATE

INVALID = [
    pytest.param(
        {"project_slug": "My-Service"},
        "project_slug 'My-Service' is not valid",
        id="slug-not-identifier",
    ),
    pytest.param(
        {"project_slug": "1service"},
        "project_slug '1service' is not valid",
        id="slug-leading-digit",
    ),
    pytest.param({"project_slug": "a" * 31}, "is not valid", id="slug-too-long"),
    pytest.param({"project_slug": "class"}, "project_slug 'class' is reserved", id="slug-keyword"),
    pytest.param(
        {"project_slug": "asyncio"}, "project_slug 'asyncio' is reserved", id="slug-stdlib"
    ),
    pytest.param(
        {"project_slug": "celery"}, "project_slug 'celery' is reserved", id="slug-dependency"
    ),
    pytest.param(
        {"project_slug": "fastapi"}, "project_slug 'fastapi' is reserved", id="slug-framework"
    ),
    pytest.param(
        {"author_email": "not-an-email"},
        "author_email 'not-an-email' is not a valid email",
        id="bad-email",
    ),
    pytest.param({"license": "GPL-3.0"}, "GPL-3.0", id="unknown-license"),
    pytest.param(
        {"include_celery": "n", "celery_broker": "rabbitmq"},
        "celery_broker 'rabbitmq' needs include_celery 'y'",
        id="broker-without-celery",
    ),
    pytest.param(
        {"description": 'say "hi"'}, "description must be one line", id="quote-in-description"
    ),
]


def cookiecutter_cli(answers: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    args = [f"{key}={value}" for key, value in answers.items()]
    argv = [
        sys.executable,
        "-m",
        "cookiecutter",
        "--no-input",
        "-o",
        str(out),
        str(TEMPLATE),
        *args,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def copier_cli(answers: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    argv = [sys.executable, "-m", "copier", "copy", "--defaults", *data, str(TEMPLATE), str(out)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("tool", [cookiecutter_cli, copier_cli], ids=["cookiecutter", "copier"])
@pytest.mark.parametrize(("answers", "message"), INVALID)
def test_invalid_answer_is_refused_and_nothing_written(
    tool: Callable[[dict[str, str], Path], subprocess.CompletedProcess[str]],
    answers: dict[str, str],
    message: str,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = tool(answers, out)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_valid_answers_are_accepted_by_both(tmp_path: Path) -> None:
    answers = {"project_slug": "inventory", "author_email": "a.b@example.co.uk"}
    cc = cookiecutter_cli(answers, tmp_path / "cc")
    assert cc.returncode == 0, cc.stderr
    assert (tmp_path / "cc" / "inventory" / "src" / "inventory" / "main.py").is_file()
    cp = copier_cli(answers, tmp_path / "cp")
    assert cp.returncode == 0, cp.stderr
    assert (tmp_path / "cp" / "src" / "inventory" / "main.py").is_file()
