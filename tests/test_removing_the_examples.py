"""Removing the example domain by following docs/removing-the-examples.md works as written.

The test renders the defaults (examples included) and, as a team would before removing them,
adds a domain of its own by following docs/adding-a-domain.md (its migration then follows the
examples'). It runs the removal document's bash block from the project root, and expects what a
project generated without the examples, with the same domain added, has: the same files with the
same content (the new migrations differ only in their random revision ids and dates), and every
check and the whole suite passing.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import render_cookiecutter, run
from tests.guide import apply_guide
from tests.test_render import files_of

# Slow: renders two projects and runs one's whole suite; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

BASH_BLOCK = re.compile(r"^```bash\n(.*?)```", re.S | re.M)
# What differs between two runs of `alembic revision`: the id, its date, and the file name.
GENERATED = re.compile(r"(?m)^(Revision ID: |Create Date: |revision: str = ).*$")
EXAMPLE_WORDS = re.compile(r"\bposts\b|\bpost_id\b|\bPost[A-Z]|analyse_text|posts\.report")


def test_following_the_removal_steps_gives_the_project_without_examples(tmp_path: Path) -> None:
    project = render_cookiecutter({}, tmp_path / "with")
    without = render_cookiecutter({"include_examples": "n"}, tmp_path / "without")
    for rendered in (project, without):
        synced = run(["uv", "sync", "--quiet"], rendered)
        assert synced.returncode == 0, synced.stderr
        apply_guide(rendered)
    doc = (project / "docs" / "removing-the-examples.md").read_text()
    [steps] = BASH_BLOCK.findall(doc)

    removed = run(["bash", "-euo", "pipefail", "-c", steps], project)
    assert removed.returncode == 0, removed.stdout + removed.stderr

    def comparable(root: Path) -> dict[str, bytes]:
        files = files_of(root)
        [migration] = [
            n for n in files if n.startswith("migrations/") and n.endswith("_bookmarks.py")
        ]
        files["bookmarks migration"] = GENERATED.sub("", files.pop(migration).decode()).encode()
        return files

    ours, expected = comparable(project), comparable(without)
    assert ours.keys() == expected.keys()
    assert [name for name, content in ours.items() if expected[name] != content] == []
    leftovers = [
        f"{path.relative_to(project)}: {line.strip()}"
        for folder in ("src", "tests", "migrations")
        for path in (project / folder).rglob("*.py")
        for line in path.read_text().splitlines()
        if EXAMPLE_WORDS.search(line)
    ]
    assert leftovers == []

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
