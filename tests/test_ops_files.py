"""Docker, compose and CI files are valid for their tools and contain what they must.

There is no Docker engine or CI runner here, so the files are checked by the tools that parse
them: hadolint for the Dockerfile, and check-jsonschema with its bundled compose-spec, GitHub
workflow and GitLab CI schemas; then their structure is asserted.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import matrix_params
from tests.matrix import answers

BIN = Path(sys.executable).parent


def rows(option: str, value: str) -> list[Any]:
    return [row for row in matrix_params() if answers(row.values[0])[option] == value]


def tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def chosen(request: pytest.FixtureRequest) -> dict[str, str]:
    return answers(request.node.callspec.params["project"])


def validate(project: Path, schema: str, path: str) -> None:
    result = tool("check-jsonschema", "--builtin-schema", schema, path, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("project", rows("use_docker", "y"), indirect=True)
def test_dockerfile_passes_hadolint_and_is_built_for_production(project: Path) -> None:
    result = tool("hadolint", "--no-color", "Dockerfile", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (project / "Dockerfile").read_text().splitlines()
    assert (
        len([line for line in lines if line.startswith("FROM ")]) == 2
    )  # build and runtime stages
    assert "USER 10001:10001" in lines  # numeric and not root
    copies = [line for line in lines if line.startswith("COPY")]
    assert copies.index("COPY pyproject.toml README.md LICENSE ./") < copies.index("COPY src ./src")
    [healthcheck] = [i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK")]
    assert "/health/live" in lines[healthcheck + 1]
    [cmd] = [line for line in lines if line.startswith("CMD ")]
    command = json.loads(cmd.removeprefix("CMD "))  # exec form
    assert command[:2] == ["uvicorn", "--factory"]
    assert "--proxy-headers" in command


@pytest.mark.parametrize("project", rows("use_docker", "y"), indirect=True)
def test_compose_file_is_valid_and_orders_startup(
    project: Path, request: pytest.FixtureRequest
) -> None:
    validate(project, "vendor.compose-spec", "compose.yaml")
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    options = chosen(request)
    expected = {"migrate", "api", "postgres", "redis"}
    if options["include_celery"] == "y":
        expected.add("worker")
    if options["include_celery"] == "y" and options["celery_broker"] == "rabbitmq":
        expected.add("rabbitmq")
    assert set(services) == expected
    for infra in expected & {"postgres", "redis", "rabbitmq"}:
        assert services[infra]["healthcheck"]["test"], infra
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for app in expected & {"api", "worker"}:
        assert (
            services[app]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        ), app
        assert services[app]["env_file"] == ".env", app


@pytest.mark.parametrize("project", rows("ci_provider", "github"), indirect=True)
def test_github_workflow_is_valid_and_runs_every_check(
    project: Path, request: pytest.FixtureRequest
) -> None:
    validate(project, "vendor.github-workflows", ".github/workflows/ci.yml")
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["concurrency"]["cancel-in-progress"] is True
    job = workflow["jobs"]["check"]
    commands = [step["run"] for step in job["steps"] if "run" in step]
    for expected in ("ruff check", "ruff format --check", "mypy", "tools/rule_guard.py", "pytest"):
        assert any(expected in command for command in commands), expected
    services = set(job["services"])
    options = chosen(request)
    assert services >= {"postgres", "redis"}
    assert ("rabbitmq" in services) == (
        options["include_celery"] == "y" and options["celery_broker"] == "rabbitmq"
    )
    assert any(step.get("uses", "").startswith("astral-sh/setup-uv") for step in job["steps"])


@pytest.mark.parametrize("project", rows("ci_provider", "gitlab"), indirect=True)
def test_gitlab_pipeline_is_valid_and_runs_every_check(
    project: Path, request: pytest.FixtureRequest
) -> None:
    validate(project, "vendor.gitlab-ci", ".gitlab-ci.yml")
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    scripts = pipeline["lint"]["script"] + pipeline["test"]["script"]
    for expected in ("ruff check", "ruff format --check", "mypy", "tools/rule_guard.py", "pytest"):
        assert any(expected in line for line in scripts), expected
    services = " ".join(pipeline["test"]["services"])
    options = chosen(request)
    assert "postgres" in services
    assert "redis" in services
    assert ("rabbitmq" in services) == (
        options["include_celery"] == "y" and options["celery_broker"] == "rabbitmq"
    )


KUBERNETES_VERSION = "1.31"  # the oldest release the manifests must be valid for


@pytest.mark.parametrize("project", rows("use_docker", "y"), indirect=True)
def test_kubernetes_example_is_valid_and_matches_the_image(
    project: Path, request: pytest.FixtureRequest
) -> None:
    folder = project / "deploy" / "kubernetes"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    files = kustomization["resources"]
    assert sorted(files) == sorted(
        path.name for path in folder.glob("*.yaml") if path != folder / "kustomization.yaml"
    )
    result = tool("kubernetes-validate", "--strict", "-k", KUBERNETES_VERSION, *files, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr

    options = chosen(request)
    slug = options["project_slug"]
    documents = [doc for name in files for doc in yaml.safe_load_all((folder / name).read_text())]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    name = slug.replace("_", "-")
    expected = {f"{name}-api"} | ({f"{name}-worker"} if options["include_celery"] == "y" else set())
    assert set(deployments) == expected
    [job] = by_kind["Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "alembic",
        "upgrade",
        "head",
    ]
    assert [image["name"] for image in kustomization["images"]] == [slug]

    dockerfile = (project / "Dockerfile").read_text()
    for workload in [*deployments.values(), job]:
        pod = workload["spec"]["template"]["spec"]
        # The same numeric user the image declares, so runAsNonRoot can be enforced.
        assert pod["securityContext"]["runAsUser"] == 10001
        assert "USER 10001:10001" in dockerfile
        [container] = pod["containers"]
        assert container["image"] == slug
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        refs = [next(iter(source.values()))["name"] for source in container["envFrom"]]
        assert refs == [name, name]  # the ConfigMap and the Secret
        if workload["kind"] == "Deployment":
            selector = workload["spec"]["selector"]["matchLabels"]
            assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()

    api = deployments[f"{name}-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    [service] = by_kind["Service"]
    assert (
        service["spec"]["selector"] == deployments[f"{name}-api"]["spec"]["selector"]["matchLabels"]
    )
    [config] = by_kind["ConfigMap"]
    assert config["data"]["ENVIRONMENT"] == "production"
    # Settings refuse production without trusted hosts, or with a wildcard.
    hosts = json.loads(config["data"]["TRUSTED_HOSTS"])
    assert hosts
    assert "*" not in hosts
    if options["include_celery"] == "y":
        worker = deployments[f"{name}-worker"]["spec"]["template"]["spec"]["containers"][0]
        assert worker["command"][:3] == ["celery", "-A", f"{slug}.worker"]
