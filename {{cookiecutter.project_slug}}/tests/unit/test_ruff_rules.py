"""The rules ruff enforces (pyproject.toml): each fires on a violation, naming the rule.

Run with this project's own ruff settings on code written to a temporary folder.
"""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUFF = str(Path(sys.executable).with_name("ruff"))


def ruff(tmp_path: Path, source: str) -> str:
    module = tmp_path / "module.py"
    module.write_text(source)
    result = subprocess.run(  # noqa: S603 - this project's ruff, arguments of our own
        [
            RUFF,
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--config",
            str(PROJECT_ROOT / "pyproject.toml"),
            str(module),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


ASYNC_DEF = "async def handler() -> None:\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # S1: blocking calls directly inside async def (flake8-async)
        ("import time\n\n\n" + ASYNC_DEF + "    time.sleep(1)\n", "ASYNC251"),
        (ASYNC_DEF + '    open("notes.txt")\n', "ASYNC230"),
        ("import subprocess\n\n\n" + ASYNC_DEF + '    subprocess.run(["ls"])\n', "ASYNC221"),
        # S2: no blocking HTTP client or database driver
        ("import requests  # noqa: F401\n", "TID251 `requests` is banned: S2"),
        ("import psycopg2  # noqa: F401\n", "TID251 `psycopg2` is banned: S2"),
        # S12: no second event loop
        (
            "import asyncio\n\nasyncio.run(asyncio.sleep(0))\n",
            "TID251 `asyncio.run` is banned: S12",
        ),
        # S13: the environment is read by Settings only
        ('import os\n\nKEY = os.environ["KEY"]\n', "TID251 `os.environ` is banned: S13"),
        ('import os\n\nKEY = os.getenv("KEY")\n', "TID251 `os.getenv` is banned: S13"),
        ('from os import environ\n\nKEY = environ["KEY"]\n', "TID251 `os.environ` is banned: S13"),
        # S14: pure ASGI middleware
        (
            "from starlette.middleware.base import BaseHTTPMiddleware  # noqa: F401\n",
            "is banned: S14",
        ),
        # Tests are async
        ("from fastapi.testclient import TestClient  # noqa: F401\n", "TID251"),
    ],
)
def test_ruff_reports_the_violation(tmp_path: Path, source: str, expected: str) -> None:
    assert expected in ruff(tmp_path, source)
