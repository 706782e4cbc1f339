"""copier.yml and cookiecutter.json ask the same questions and switch off the same files."""

import keyword
import re
import sys

import yaml

from tests.matrix import CONTEXT, SUPPORTED_COMBINATIONS, TEMPLATE, answers, choice_options

COPIER = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
SLUG_DIR = TEMPLATE / "{{cookiecutter.project_slug}}"
EXCLUDE_ENTRY = re.compile(r"\{% if (\w+) (==|!=) '([^']+)' %\}(.+)\{% endif %\}")


def test_copier_asks_the_same_questions_with_the_same_defaults() -> None:
    cookiecutter_questions = {k for k in CONTEXT if not k.startswith("_")}
    copier_questions = {
        k for k, v in COPIER.items() if not k.startswith("_") and v.get("when") is not False
    }
    assert copier_questions == cookiecutter_questions
    for name, value in CONTEXT.items():
        if name.startswith("_") or name == "project_slug":
            continue
        if isinstance(value, list):
            assert COPIER[name]["choices"] == value, name
            assert COPIER[name]["default"] == value[0], name
        else:
            assert COPIER[name]["default"] == value, name


def test_copier_hands_every_answer_to_the_files() -> None:
    computed = COPIER["cookiecutter"]["default"]
    for name in CONTEXT:
        if not name.startswith("_"):
            assert f'"{name}": {{{{ {name} | tojson }}}}' in computed, name


def test_reserved_slugs_are_the_same_in_both_tools() -> None:
    assert COPIER["reserved_slugs"]["default"] == CONTEXT["_reserved_slugs"]


def test_reserved_slugs_cover_stdlib_and_keywords() -> None:
    stdlib = {n for n in sys.stdlib_module_names if not n.startswith("_") and n.isidentifier()}
    missing = (stdlib | set(keyword.kwlist)) - set(CONTEXT["_reserved_slugs"])
    # Capitalised names (cProfile, False) can never pass the lowercase slug rule anyway.
    assert {name for name in missing if name.islower()} == set()


def test_copier_excludes_mirror_the_manifest() -> None:
    expected = []
    for option, removed_by_value in CONTEXT["_conditional_files"].items():
        for value, patterns in removed_by_value.items():
            expected.extend((option, value, pattern) for pattern in patterns)
    written = []
    for entry in COPIER["_exclude"]:
        match = EXCLUDE_ENTRY.fullmatch(entry)
        assert match, f"unexpected _exclude entry: {entry}"
        option, operator, value, pattern = match.groups()
        values = [value] if operator == "==" else [v for v in CONTEXT[option] if v != value]
        written.extend((option, v, pattern) for v in values)
    assert sorted(written) == sorted(expected)


def test_every_manifest_path_exists_in_the_template() -> None:
    for removed_by_value in CONTEXT["_conditional_files"].values():
        for patterns in removed_by_value.values():
            for pattern in patterns:
                assert list(SLUG_DIR.glob(pattern)), pattern


def test_matrix_uses_every_value_of_every_option() -> None:
    used: dict[str, set[str]] = {name: set() for name in choice_options()}
    for overrides in SUPPORTED_COMBINATIONS:
        for name, value in answers(overrides).items():
            if name in used:
                used[name].add(value)
    assert used == {name: set(values) for name, values in choice_options().items()}
    assert {} in SUPPORTED_COMBINATIONS  # the defaults themselves
