from typing import Any

from fastapi import APIRouter, Response, status

from {{ cookiecutter.project_slug }}.core.database import Pool
from {{ cookiecutter.project_slug }}.core.redis import RedisClient
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.health import service
from {{ cookiecutter.project_slug }}.health.schemas import Liveness, Readiness

# S16: every route says what it answers: response model, status, summary, tags, errors.
router = APIRouter(prefix="/health", tags=["health"])


@router.get(
    "/live",
    response_model=Liveness,
    status_code=status.HTTP_200_OK,
    summary="Liveness probe",
    description="Answers as long as the process serves requests. Touches no dependency.",
)
async def liveness() -> dict[str, Any]:
    return {"status": "ok"}


@router.head(
    "/live",
    status_code=status.HTTP_200_OK,
    response_class=Response,
    summary="Liveness probe, headers only",
    description="The same answer as GET, without a body: for uptime checkers that send HEAD.",
)
async def liveness_head() -> Response:
    return Response(status_code=status.HTTP_200_OK)


@router.get(
    "/ready",
    response_model=Readiness,
    status_code=status.HTTP_200_OK,
    summary="Readiness probe",
    description="Checks Postgres and Redis concurrently; 503 names the dependency that failed.",
    responses={
        status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Readiness, "description": "Not ready"}
    },
)
async def readiness(
    pool: Pool, redis: RedisClient, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    ok, checks = await service.readiness(pool, redis, settings.health_check_timeout)
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ok" if ok else "unavailable", "checks": checks}


@router.head(
    "/ready",
    status_code=status.HTTP_200_OK,
    response_class=Response,
    summary="Readiness probe, headers only",
    description="The same checks and status as GET, without a body.",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"description": "Not ready"}},
)
async def readiness_head(pool: Pool, redis: RedisClient, settings: SettingsDep) -> Response:
    ok, _ = await service.readiness(pool, redis, settings.health_check_timeout)
    return Response(status_code=status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE)
