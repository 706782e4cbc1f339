"""Removing the example domain by following docs/removing-the-examples.md works as written.

The test renders the defaults (examples included), runs the document's bash block from the
project root, and then expects what a project generated without the examples has: the same
files with the same content, and every check and the whole suite passing.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import render_cookiecutter, run
from tests.test_render import files_of

# Slow: renders two projects and runs one's whole suite; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

BASH_BLOCK = re.compile(r"^```bash\n(.*?)```", re.S | re.M)
EXAMPLE_WORDS = re.compile(r"\bposts\b|\bpost_id\b|\bPost[A-Z]|analyse_text|posts_report")


def test_following_the_removal_steps_gives_the_project_without_examples(tmp_path: Path) -> None:
    project = render_cookiecutter({}, tmp_path / "with")
    without = render_cookiecutter({"include_examples": "n"}, tmp_path / "without")
    doc = (project / "docs" / "removing-the-examples.md").read_text()
    [steps] = BASH_BLOCK.findall(doc)

    removed = run(["bash", "-euo", "pipefail", "-c", steps], project)
    assert removed.returncode == 0, removed.stdout + removed.stderr

    assert files_of(project).keys() == files_of(without).keys()
    differing = [
        name for name, content in files_of(project).items() if files_of(without)[name] != content
    ]
    assert differing == []
    leftovers = [
        f"{path.relative_to(project)}: {line.strip()}"
        for folder in ("src", "tests", "migrations")
        for path in (project / folder).rglob("*.py")
        for line in path.read_text().splitlines()
        if EXAMPLE_WORDS.search(line)
    ]
    assert leftovers == []

    synced = run(["uv", "sync", "--quiet"], project)
    assert synced.returncode == 0, synced.stderr
    for check in (
        ["uv", "run", "ruff", "check", "."],
        ["uv", "run", "ruff", "format", "--check", "."],
        ["uv", "run", "mypy"],
        ["uv", "run", "python", "tools/rule_guard.py", "src", "tools"],
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"],
    ):
        result = run(check, project)
        assert result.returncode == 0, (
            f"{' '.join(check)}:\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
        )
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert "skipped" not in summary
