"""After cookiecutter renders: remove switched-off files, record answers for `copier update`.

1. The files an option switches off are listed once: "_conditional_files" in cookiecutter.json
   (copier.yml mirrors it as `_exclude`, checked by the template tests). Folders left empty are
   removed too.
2. `.copier-answers.yml` is written exactly as copier writes it, so a project generated with
   cookiecutter can take template updates with `copier update` like any copier project. The
   template version comes from `git describe` in the template checkout, a local command.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
ANSWERS_FILE = ".copier-answers.yml"
REMOTE = re.compile(r"^([a-z+]+://|git@|gh:|gl:)")


def prune(root: Path, answers: dict) -> None:
    for option, removed_by_value in answers["_conditional_files"].items():
        for pattern in removed_by_value.get(answers[option], []):
            for path in sorted(root.glob(pattern)):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
    for folder in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def template_version(repo_dir: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - a fixed git command on the local checkout
            ["git", "-C", repo_dir, "describe", "--tags", "--always"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def template_dir(answers: dict) -> Path:
    """The template's folder. cookiecutter records it as given on its command line, which may be
    relative to the folder it was started in, while this hook runs in the new project: a
    relative one is looked up from the shell's working directory (PWD), then from the output
    folder."""
    given = Path(answers["_repo_dir"])
    if given.is_absolute():
        return given
    for base in (os.environ.get("PWD"), answers.get("_output_dir")):
        if base and (Path(base) / given / "cookiecutter.json").is_file():
            return (Path(base) / given).resolve()
    return given.resolve()


def copier_answers(answers: dict) -> str:
    template = answers["_template"]
    repo_dir = template_dir(answers)
    source = template if REMOTE.match(template) else str(repo_dir)
    version = template_version(str(repo_dir))
    recorded = {key: value for key, value in answers.items() if not key.startswith("_")}
    if version:
        recorded["_commit"] = version
    recorded["_src_path"] = source
    lines = ["# Changes here will be overwritten by Copier; do not edit by hand."]
    lines += [f"{key}: {json.dumps(value)}" for key, value in sorted(recorded.items())]
    if not version:
        print(
            f"note: the template is not a git checkout, so {ANSWERS_FILE} has no _commit; "
            "add `_commit: <template version>` before running `copier update`.",
            file=sys.stderr,
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    root = Path.cwd()
    prune(root, ANSWERS)
    (root / ANSWERS_FILE).write_text(copier_answers(ANSWERS))
    sys.exit(0)
