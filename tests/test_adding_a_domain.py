"""The generated "Adding a domain" guide works as written.

The test follows docs/adding-a-domain.md in a fresh project: it runs the migration command the
guide gives, pastes the guide's own code blocks where the guide says, registers the router, and
then runs every check the project has. Editing the guide changes what is tested.
"""

import json
import re
from pathlib import Path

import pytest

from tests.conftest import render_cookiecutter, run
from tests.guide import OPENAPI, apply_guide

# Slow: renders projects and runs their checks; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


# With and without the example domain: the guide must not lean on code that may be absent.
@pytest.mark.parametrize(
    "overrides", [{}, {"include_examples": "n"}], ids=["with-examples", "without-examples"]
)
def test_following_the_guide_gives_a_project_that_passes_every_check(
    tmp_path: Path, overrides: dict[str, str]
) -> None:
    project = render_cookiecutter(overrides, tmp_path)
    synced = run(["uv", "sync", "--quiet"], project)
    assert synced.returncode == 0, synced.stderr

    apply_guide(project)

    for check in (
        ["uv", "run", "ruff", "check", "."],
        ["uv", "run", "ruff", "format", "--check", "."],
        ["uv", "run", "mypy"],
        ["uv", "run", "python", "tools/rule_guard.py", "src"],
        [
            "uv",
            "run",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/api/bookmarks",
            "tests/api/core/test_migrations.py",
            "tests/system/test_fuzz.py",  # the new routes are fuzzed with the others
        ],
    ):
        result = run(check, project)
        assert result.returncode == 0, (
            f"{' '.join(check)}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
        )
    # Every test the guide wrote ran: 7 bookmark tests, 2 migration tests, one fuzz case per
    # operation (the bookmarks' 7 among them).
    operations = sum(
        len(methods) for methods in json.loads(run(OPENAPI, project).stdout)["paths"].values()
    )
    assert re.search(rf"\b{7 + 2 + operations} passed\b", result.stdout), result.stdout[-2000:]
    assert operations >= 7
