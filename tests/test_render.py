"""Every matrix row renders clean, passes ruff and mypy as rendered, and passes its own tests."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import matrix_params, render_copier, require_broker, run
from tests.matrix import CONTEXT, TEMPLATE, answers

LEFTOVER = re.compile(r"\{\{|\{%|\{#|cookiecutter\.")
# GitHub Actions' own ${{ ... }} expressions are meant to survive rendering.
ALLOWED = re.compile(r"\$\{\{[^}]*\}\}")
ROWS = matrix_params()


def files_of(root: Path) -> dict[str, bytes]:
    # Left by tools, not rendered: the generated suite may have run in `root` already.
    skipped = {
        ".venv",
        "uv.lock",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "__pycache__",
        ".hypothesis",
    }
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not skipped.intersection(path.relative_to(root).parts)
    }


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_no_template_syntax_is_left(project: Path) -> None:
    leftovers = [
        f"{name}:{number}: {line.strip()}"
        for name, content in files_of(project).items()
        for number, line in enumerate(content.decode().splitlines(), 1)
        if LEFTOVER.search(ALLOWED.sub("", line))
    ]
    assert leftovers == []


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_no_empty_folders(project: Path) -> None:
    empty = [
        str(p)
        for p in project.rglob("*")
        if p.is_dir() and ".venv" not in p.parts and not any(p.iterdir())
    ]
    assert empty == []


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_ruff_is_clean_as_rendered(project: Path) -> None:
    check = run(["uv", "run", "ruff", "check", "."], project)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = run(["uv", "run", "ruff", "format", "--check", "."], project)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_rule_guard_is_clean_as_rendered(project: Path) -> None:
    result = run(["uv", "run", "python", "tools/rule_guard.py", "src", "tools"], project)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_mypy_strict_is_clean_as_rendered(project: Path) -> None:
    result = run(["uv", "run", "mypy"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "strict = true" in (project / "pyproject.toml").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_generated_test_suite_passes(project: Path) -> None:
    require_broker(project)
    result = run(["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"], project)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", summary), summary
    assert "skipped" not in summary


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_conditional_files_follow_the_manifest(
    project: Path, request: pytest.FixtureRequest
) -> None:
    chosen = answers(request.node.callspec.params["project"])
    manifest = CONTEXT["_conditional_files"]
    # Every folder this row removes: a file kept by one option may sit in a folder another removes.
    all_removed = [
        p for option, by_value in manifest.items() for p in by_value.get(chosen[option], [])
    ]
    for option, removed_by_value in manifest.items():
        removed = set(removed_by_value.get(chosen[option], []))
        kept = {
            p
            for value, patterns in removed_by_value.items()
            if value != chosen[option]
            for p in patterns
        } - removed
        for pattern in removed:
            assert not list(project.glob(pattern)), (
                f"{pattern} should be gone when {option}={chosen[option]}"
            )
        for pattern in kept:
            if any(pattern == folder or pattern.startswith(f"{folder}/") for folder in all_removed):
                continue
            assert list(project.glob(pattern)), (
                f"{pattern} should exist when {option}={chosen[option]}"
            )


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_license_matches_the_answer(project: Path, request: pytest.FixtureRequest) -> None:
    chosen = answers(request.node.callspec.params["project"])["license"]
    text = (project / "LICENSE").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    expected = {
        "MIT": ("MIT License", 'license = "MIT"'),
        "Apache-2.0": (
            "Apache License\n                           Version 2.0",
            'license = "Apache-2.0"',
        ),
        "proprietary": ("All rights reserved.", 'license = "LicenseRef-Proprietary"'),
    }[chosen]
    assert expected[0] in text
    assert expected[1] in pyproject
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


@pytest.mark.parametrize("project", ROWS, indirect=True)
def test_copier_renders_the_same_tree(
    project: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    overrides: dict[str, str] = request.node.callspec.params["project"]
    copied = render_copier(overrides, tmp_path / "copied")
    from_cookiecutter = files_of(project)
    from_copier = files_of(copied)
    # Both record the answers for `copier update` (cookiecutter's post-gen hook writes the file).
    copier_answers = yaml.safe_load(from_copier.pop(".copier-answers.yml"))
    cookiecutter_answers = yaml.safe_load(from_cookiecutter.pop(".copier-answers.yml"))
    assert sorted(from_copier) == sorted(from_cookiecutter)
    different = [name for name in from_copier if from_copier[name] != from_cookiecutter[name]]
    assert different == []

    for recorded in (copier_answers, cookiecutter_answers):
        assert {k: v for k, v in recorded.items() if not k.startswith("_")} == answers(overrides)
        assert recorded["_src_path"]
    assert cookiecutter_answers["_commit"] == copier_answers["_commit"]


def test_a_relative_template_path_is_recorded_for_copier_update(tmp_path: Path) -> None:
    # As the README's command is typed: from a shell, with the template's path relative to it.
    cookiecutter_cli = Path(sys.executable).parent / "cookiecutter"
    relative = os.path.relpath(TEMPLATE, tmp_path)
    started = subprocess.run(
        ["bash", "-c", f'cd "{tmp_path}" && "{cookiecutter_cli}" --no-input "{relative}"'],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    recorded = yaml.safe_load((tmp_path / "my_service" / ".copier-answers.yml").read_text())
    assert recorded["_src_path"] == str(TEMPLATE)
    assert recorded["_commit"]
    assert "not a git checkout" not in started.stderr
