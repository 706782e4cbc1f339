"""`copier update` brings a later template release into a project that has changed since.

Each test builds a throwaway git repository of this template, tags it v1.0.0, generates a
project from it (with copier, or with cookiecutter, whose post-gen hook records the answers
for copier), makes the changes a team would make, releases v1.1.0 of the template, and updates.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from cookiecutter.main import cookiecutter

from tests.conftest import run
from tests.matrix import TEMPLATE

# Slow: renders projects and runs their checks; `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

SLUG = "my_service"
TREE = "{{cookiecutter.project_slug}}"
IDENTITY = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.com"]
CONFLICT = "<<<<<<<"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def release(repo: Path, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"release {tag}")
    git(repo, "tag", tag)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def copy_current_template(repo: Path) -> None:
    """This template's current files (tracked and new, not ignored) into `repo`."""
    listed = git(TEMPLATE, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """This template's current files as a fresh repo at v1.0.0."""
    repo = tmp_path / "template"
    copy_current_template(repo)
    git(repo, "init", "-q", "-b", "main")
    release(repo, "v1.0.0")
    return repo


def generate(tool: str, repo: Path, destination: Path, answers: dict[str, str]) -> Path:
    if tool == "copier":
        copier.run_copy(
            str(repo), destination, data=answers, defaults=True, vcs_ref="v1.0.0", quiet=True
        )
        project = destination
    else:
        project = Path(
            cookiecutter(
                str(repo), no_input=True, extra_context=answers, output_dir=str(destination)
            )
        )
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated")
    return project


def make_local_changes(project: Path) -> None:
    """What a team does after generating: a domain, docs, a tuned default, a dependency, a .env."""
    (project / "src" / SLUG / "notes").mkdir()
    (project / "src" / SLUG / "notes" / "__init__.py").write_text('"""Our own domain."""\n')
    edit(
        project / "README.md",
        "## Deployment notes\n",
        "## Deployment notes\n\nDeployed by the platform team.\n",
    )
    edit(
        project / "src" / SLUG / "core" / "settings.py",
        "thread_pool_size: int = Field(default=40,",
        "thread_pool_size: int = Field(default=64,",
    )
    edit(
        project / "pyproject.toml",
        '    "fastapi>=0.121,<1",\n',
        '    "fastapi>=0.121,<1",\n    "orjson>=3.10,<4",\n',
    )
    (project / ".env").write_text("SECRET_KEY=local-secret-that-must-survive-updates-123\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "our changes")


def release_next_version(repo: Path, *, conflicting: bool = False) -> None:
    """What a later template release does: a new file, a changed file, a file both sides change."""
    (repo / TREE / "docs" / "operations.md").write_text(
        "# Operations\n\nHow to run this service.\n"
    )
    edit(
        repo / TREE / "src" / TREE / "health" / "router.py",
        "Touches no dependency.",
        "Touches no dependency; use it as the liveness probe.",
    )
    edit(
        repo / TREE / "README.md",
        "are in [RULES.md](RULES.md).",
        "are in [RULES.md](RULES.md); read it first.",
    )
    if conflicting:
        edit(
            repo / TREE / "src" / TREE / "core" / "settings.py",
            "thread_pool_size: int = Field(default=40,",
            "thread_pool_size: int = Field(default=50,",
        )
    release(repo, "v1.1.0")


def update(project: Path) -> None:
    copier.run_update(project, defaults=True, overwrite=True, vcs_ref="v1.1.0", quiet=True)


def assert_project_checks_pass(project: Path, *more: list[str]) -> None:
    """`uv sync`, then ruff, ruff format, mypy and any `more` commands pass in the project."""
    synced = run(["uv", "sync", "--quiet"], project)
    assert synced.returncode == 0, synced.stderr
    for check in (
        ["uv", "run", "ruff", "check", "."],
        ["uv", "run", "ruff", "format", "--check", "."],
        ["uv", "run", "mypy"],
        *more,
    ):
        result = run(check, project)
        assert result.returncode == 0, " ".join(check) + "\n" + result.stdout + result.stderr


def conflict_markers(project: Path) -> list[str]:
    return [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and CONFLICT in path.read_text(errors="ignore")
    ]


@pytest.mark.parametrize(
    ("tool", "answers"),
    [
        ("copier", {}),
        ("cookiecutter", {"include_celery": "n", "use_docker": "n", "ci_provider": "none"}),
    ],
    ids=["copier-defaults", "cookiecutter-no-celery"],
)
def test_update_merges_the_release_and_keeps_local_changes(
    template_repo: Path, tmp_path: Path, tool: str, answers: dict[str, str]
) -> None:
    project = generate(tool, template_repo, tmp_path / "project", answers)
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.0.0"
    make_local_changes(project)
    release_next_version(template_repo)

    update(project)

    assert (project / "docs" / "operations.md").read_text().startswith("# Operations")
    assert (
        "use it as the liveness probe"
        in (project / "src" / SLUG / "health" / "router.py").read_text()
    )
    readme = (project / "README.md").read_text()
    assert "read it first." in readme
    assert "Deployed by the platform team." in readme
    assert conflict_markers(project) == []
    assert (project / "src" / SLUG / "notes" / "__init__.py").exists()
    assert "Field(default=64," in (project / "src" / SLUG / "core" / "settings.py").read_text()
    assert '"orjson>=3.10,<4"' in (project / "pyproject.toml").read_text()
    assert (project / ".env").read_text().startswith("SECRET_KEY=local-secret")
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == "v1.1.0"
    assert {k: v for k, v in recorded.items() if k in answers} == answers

    assert_project_checks_pass(project)
    if tool == "cookiecutter":  # the lighter option set: its whole suite runs in seconds
        tests = run(["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"], project)
        assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]


def test_conflicting_change_is_marked_inline_and_caught_by_pre_commit(
    template_repo: Path, tmp_path: Path
) -> None:
    project = generate("copier", template_repo, tmp_path / "project", {"include_celery": "n"})
    make_local_changes(project)
    release_next_version(template_repo, conflicting=True)

    update(project)

    assert conflict_markers(project) == [f"src/{SLUG}/core/settings.py"]
    config = (project / "src" / SLUG / "core" / "settings.py").read_text()
    assert "Field(default=64," in config  # ours
    assert "Field(default=50," in config  # theirs
    assert "read it first." in (project / "README.md").read_text()  # the rest merged cleanly

    synced = run(["uv", "sync", "--quiet"], project)
    assert synced.returncode == 0, synced.stderr
    hook = run(["uv", "run", "pre-commit", "run", "check-merge-conflict", "--all-files"], project)
    assert hook.returncode == 1, hook.stdout + hook.stderr
    assert f"src/{SLUG}/core/settings.py" in hook.stdout


# The last template commit before the `core/` layout: what projects generated before it hold.
BEFORE_CORE_LAYOUT = "00bccc54ccdc1a2147090130703b26166718bdd5"
MOVE_TO_CORE_MARKER = "<!-- move-to-core:"


def move_to_core_steps() -> str:
    """The shell block the CHANGELOG gives for taking the `core/` release."""
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    after_marker = changelog[changelog.index(MOVE_TO_CORE_MARKER) :]
    block = after_marker.split("```bash\n", 1)[1].split("```", 1)[0]
    assert "uvx copier copy" in block
    assert "git cherry-pick" in block
    return block


@pytest.fixture
def pre_core_template_repo(tmp_path: Path) -> Path:
    """This template as it was before the move (v1.0.0) and as it is now (v1.1.0), in one repo."""
    repo = tmp_path / "template"
    repo.mkdir()
    archive = subprocess.run(
        ["git", "archive", BEFORE_CORE_LAYOUT], cwd=TEMPLATE, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    git(repo, "init", "-q", "-b", "main")
    release(repo, "v1.0.0")
    git(repo, "rm", "-r", "-q", ".")
    copy_current_template(repo)
    release(repo, "v1.1.0")
    return repo


def test_a_project_from_before_the_core_layout_follows_the_changelog_steps(
    pre_core_template_repo: Path, tmp_path: Path
) -> None:
    project = generate("copier", pre_core_template_repo, tmp_path / "project", {})
    # The team's edits, in modules that move (a setting) and in one that stays (a route).
    edit(
        project / "src" / SLUG / "config.py",
        "    health_check_timeout: PositiveSeconds = 2.0\n",
        "    health_check_timeout: PositiveSeconds = 2.0\n"
        "    # Ours: switches the billing flow on.\n"
        "    billing_enabled: bool = False\n",
    )
    edit(project / ".env.example", "LOG_LEVEL=", "BILLING_ENABLED=\nLOG_LEVEL=")
    edit(
        project / "src" / SLUG / "posts" / "router.py",
        'summary="Write a post"',
        'summary="Publish a post"',
    )
    git(project, "commit", "-q", "-am", "our changes")

    steps = move_to_core_steps()
    steps = steps.replace("uvx copier", f"{sys.executable} -m copier")
    steps = re.sub(r"(?m)^TEMPLATE=.*$", f"TEMPLATE={pre_core_template_repo}", steps)
    steps = re.sub(r"(?m)^NEW=.*$", "NEW=v1.1.0", steps)
    identity = {"GIT_AUTHOR_NAME": "Team", "GIT_AUTHOR_EMAIL": "team@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "Team", "GIT_COMMITTER_EMAIL": "team@example.com"}
    moved = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", steps],
        cwd=project,
        env={**os.environ, **identity},
        capture_output=True,
        text=True,
        check=False,
    )
    assert moved.returncode == 0, moved.stdout + moved.stderr

    package = project / "src" / SLUG
    assert sorted(p.name for p in package.iterdir() if p.name != "__pycache__") == [
        "__init__.py", "audit", "auth", "core", "health", "jobs", "main.py", "notifications",
        "posts", "sessions", "users", "worker.py",
    ]  # fmt: skip
    settings = (package / "core" / "settings.py").read_text()
    assert "billing_enabled: bool = False" in settings  # ours, in the module's new home
    assert "SettingsDep = Annotated" in settings  # the release's
    assert 'summary="Publish a post"' in (package / "posts" / "router.py").read_text()
    assert "error_responses(" in (package / "posts" / "router.py").read_text()
    assert conflict_markers(project) == []
    assert git(project, "status", "--porcelain") == ""
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == "v1.1.0"

    assert_project_checks_pass(
        project,
        ["uv", "run", "python", "tools/rule_guard.py", "src", "tools"],
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_config.py"],
    )
