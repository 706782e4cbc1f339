"""The one declared matrix of answer sets every rendering test uses.

Each row overrides cookiecutter.json's defaults; together the rows use every value of every
option at least once (tests/test_answers.py checks that), plus the defaults themselves.
"""

import json
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())

SUPPORTED_COMBINATIONS: list[dict[str, str]] = [
    {},
    {
        "include_celery": "y",
        "celery_broker": "rabbitmq",
        "ci_provider": "gitlab",
        "license": "Apache-2.0",
    },
    {"include_celery": "n", "ci_provider": "none", "use_docker": "n", "license": "proprietary"},
    {"include_examples": "n", "include_celery": "n"},
    {
        "project_name": "Billing-API Service",
        "project_slug": "billing_api_with_a_long_name30",  # the longest slug allowed: 30 characters
        "description": "Sends the invoices.",
        "author_name": "Platform Team",
        "author_email": "platform@example.org",
        "use_docker": "n",
    },
]


def row_id(overrides: dict[str, str]) -> str:
    if not overrides:
        return "defaults"
    return "-".join(f"{key}={value}" for key, value in overrides.items()).replace(" ", "_")


def choice_options() -> dict[str, list[str]]:
    return {
        key: value
        for key, value in CONTEXT.items()
        if isinstance(value, list) and not key.startswith("_")
    }


def answers(overrides: dict[str, str]) -> dict[str, str]:
    """The full answer set for a row: the defaults (first choice) with the overrides applied."""
    base = {
        key: value[0] if isinstance(value, list) else value
        for key, value in CONTEXT.items()
        if not key.startswith("_")
    }
    base.update(overrides)
    if "project_slug" not in overrides:
        name = base["project_name"]
        base["project_slug"] = name.lower().strip().replace(" ", "_").replace("-", "_")
    return base
