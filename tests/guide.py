"""Following docs/adding-a-domain.md in a rendered project, for the tests that need it."""

import re
from pathlib import Path

from tests.conftest import run

SLUG = "my_service"
FILE_BLOCK = re.compile(
    r"^\*\*`([^`*]+|migrations/versions/\*_bookmarks\.py)`\*\*\n\n```python\n(.*?)```", re.S | re.M
)
IMPORT_BLOCK = re.compile(r"^\*\*import in `[^`]+`\*\*\n\n```python\n(.*?)```", re.S | re.M)
INCLUDE_BLOCK = re.compile(r"^\*\*in `ROUTERS`\*\*\n\n```text\n(.*?)```", re.S | re.M)
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
    users_include = "    users_router,\n"
    assert auth_import in text
    assert users_include in text
    text = text.replace(auth_import, auth_import + import_line).replace(
        users_include, users_include + include_line
    )
    main.write_text(text)
