"""Reject invalid answers before cookiecutter writes anything.

copier.yml carries the same checks as `validator:` entries with the same messages; the template
tests run every invalid case through both tools.
"""

import json
import re
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

CHOICES = {
    "license": ("MIT", "Apache-2.0", "proprietary"),
    "include_examples": ("y", "n"),
    "include_celery": ("y", "n"),
    "celery_broker": ("redis", "rabbitmq"),
    "ci_provider": ("github", "gitlab", "none"),
    "use_docker": ("y", "n"),
}
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
EMAIL = re.compile(r'^[^@\s"]+@[^@\s"]+\.[^@\s"]+$')


def problems(answers: dict) -> list[str]:
    found = []
    if not answers["project_name"].strip():
        found.append("project_name must not be empty")
    slug = answers["project_slug"]
    if not SLUG.match(slug):
        found.append(
            f"project_slug '{slug}' is not valid: use a lowercase Python identifier "
            "of at most 30 characters (a-z, 0-9, _; starting with a letter), e.g. my_service"
        )
    elif slug in answers["_reserved_slugs"]:
        found.append(
            f"project_slug '{slug}' is reserved: it is a Python keyword or would shadow a "
            f"standard-library or dependency module; pick another name, e.g. {slug}_service"
        )
    description = answers["description"]
    if "\n" in description or '"' in description or "\\" in description:
        found.append("description must be one line without double quotes or backslashes")
    author = answers["author_name"]
    if not author.strip() or '"' in author:
        found.append("author_name must be non-empty and contain no double quotes")
    email = answers["author_email"]
    if not EMAIL.match(email):
        found.append(
            f"author_email '{email}' is not a valid email address (expected name@domain.tld)"
        )
    for name, allowed in CHOICES.items():
        if answers[name] not in allowed:
            found.append(f"{name} '{answers[name]}' is not one of: {', '.join(allowed)}")
    if answers["include_celery"] == "n" and answers["celery_broker"] != "redis":
        found.append(
            f"celery_broker '{answers['celery_broker']}' needs include_celery 'y': "
            "the broker is only used by the Celery worker"
        )
    return found


def main() -> int:
    found = problems(ANSWERS)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
