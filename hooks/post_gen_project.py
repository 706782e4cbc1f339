"""Remove the files that the chosen options switch off.

The list lives in one place: "_conditional_files" in cookiecutter.json (copier.yml mirrors it as
`_exclude`, checked by the template tests). Folders left empty are removed too.
"""

import json
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")


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


if __name__ == "__main__":
    prune(Path.cwd(), ANSWERS)
    sys.exit(0)
