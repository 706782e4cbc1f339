"""RULES.md and the README point at real code: every module, name and test they cite exists.

The docs tell a newcomer where each rule lives; a moved or renamed function must not leave them
pointing at nothing.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import {{ cookiecutter.project_slug }} as package

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["RULES.md", "README.md"]
# Top-level modules and packages of the service: `core`, `users`, `main`, ...
TOP_LEVEL = {module.name for module in pkgutil.iter_modules(package.__path__)}
FILE_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".toml")
DOTTED = re.compile(r"`([a-z_]+(?:\.[A-Za-z_]+)+)`")
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def code_references(text: str) -> list[str]:
    return sorted(
        {
            ref
            for ref in DOTTED.findall(text)
            if ref.split(".")[0] in TOP_LEVEL and not ref.endswith(FILE_SUFFIXES)
        }
    )


def resolves(reference: str) -> bool:
    """`core.database.lend` names a module and, after it, attributes of what it holds."""
    parts = reference.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join([package.__name__, *parts[:split]]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            fields = getattr(target, "model_fields", {})  # a pydantic model's fields
            if name in fields:
                return True
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS)
def test_every_code_reference_exists(doc: str) -> None:
    text = (ROOT / doc).read_text()
    references = code_references(text)
    assert references, f"{doc} cites no code: the pattern no longer finds anything"
    assert [ref for ref in references if not resolves(ref)] == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_test_reference_exists(doc: str) -> None:
    missing = []
    for path, test_name in TEST_REFERENCE.findall((ROOT / doc).read_text()):
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif test_name and not re.search(rf"def {test_name}\(", file.read_text()):
            missing.append(f"{path}::{test_name}")
    assert missing == []
