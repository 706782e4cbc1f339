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

# Slow: renders projects and runs their checks; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

SLUG = "my_service"
FILE_BLOCK = re.compile(
    r"^\*\*`([^`*]+|migrations/versions/\*_bookmarks\.py)`\*\*\n\n```python\n(.*?)```", re.S | re.M
)
IMPORT_BLOCK = re.compile(r"^\*\*import in `[^`]+`\*\*\n\n```python\n(.*?)```", re.S | re.M)
INCLUDE_BLOCK = re.compile(r"^\*\*in `create_app`\*\*\n\n```python\n(.*?)```", re.S | re.M)
OPENAPI = [
    "uv",
    "run",
    "python",
    "-c",
    f"import json; from {SLUG}.main import create_app; print(json.dumps(create_app().openapi()))",
]
EMPTY_MIGRATION = "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"


def apply_guide(project: Path) -> None:
    guide = (project / "docs" / "adding-a-domain.md").read_text()
    blocks = dict(FILE_BLOCK.findall(guide))
    migration_code = blocks.pop("migrations/versions/*_bookmarks.py")

    created = run(["uv", "run", "alembic", "revision", "-m", "bookmarks"], project)
    assert created.returncode == 0, created.stderr
    [migration] = (project / "migrations" / "versions").glob("*_bookmarks.py")
    text = migration.read_text()
    assert EMPTY_MIGRATION in text, text
    migration.write_text(text.replace(EMPTY_MIGRATION, migration_code))

    assert len(blocks) == 8, sorted(blocks)  # package (6 modules), the test package and file
    for path, code in blocks.items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)

    main = project / "src" / SLUG / "main.py"
    [import_line] = IMPORT_BLOCK.findall(guide)
    [include_line] = INCLUDE_BLOCK.findall(guide)
    text = main.read_text()
    auth_import = f"from {SLUG}.auth.router import router as auth_router\n"
    users_include = "    app.include_router(users_router)\n"
    assert auth_import in text
    assert users_include in text
    text = text.replace(auth_import, auth_import + import_line).replace(
        users_include, users_include + include_line
    )
    main.write_text(text)


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
