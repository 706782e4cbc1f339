from typing import Any

from fastapi import APIRouter, status

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.pagination import Page, Pagination
from {{ cookiecutter.project_slug }}.core.process_pool import ProcessPool
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs.dependencies import (
    SUBMIT_DESCRIPTION,
    SUBMIT_RESPONSES,
    SubmitJob,
)
from {{ cookiecutter.project_slug }}.jobs.schemas import JobOut
{%- endif %}
from {{ cookiecutter.project_slug }}.posts import service
from {{ cookiecutter.project_slug }}.posts.analysis import analyse_text
from {{ cookiecutter.project_slug }}.posts.dependencies import OwnedPost
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.posts.report import REPORT_JOB
{%- endif %}
from {{ cookiecutter.project_slug }}.posts.schemas import (
    PostAnalysis,
    PostIn,
    PostOut,
    PostUpdate,
{%- if cookiecutter.include_celery == 'y' %}
    ReportParams,
{%- endif %}
)

router = APIRouter(
    prefix="/posts", tags=["posts"], responses=error_responses(status.HTTP_401_UNAUTHORIZED)
)
OWNED = error_responses(status.HTTP_403_FORBIDDEN, status.HTTP_404_NOT_FOUND)


@router.post(
    "", response_model=PostOut, status_code=status.HTTP_201_CREATED, summary="Write a post"
)
async def create_post(data: PostIn, user: CurrentUser, conn: Conn) -> dict[str, Any]:
    return dict(await service.create_post(conn, user["id"], data.title, data.body))


@router.get("", response_model=Page[PostOut], summary="The caller's posts, newest first")
async def list_posts(user: CurrentUser, conn: Conn, page: Pagination) -> dict[str, Any]:
    items = await service.list_posts(conn, user["id"], page.limit, page.offset)
    total = await service.count_posts(conn, user["id"])
    return page.page(items, total)


{%- if cookiecutter.include_celery == 'y' %}


@router.post(
    "/report",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a report over all of the caller's posts (near-duplicates, word counts)",
    description=f"{SUBMIT_DESCRIPTION} The result has `postCount`, `wordCount`, "
    "`averageWordsPerPost`, `topWords`, `nearDuplicates` and `nearDuplicatesFound`.",
    responses=SUBMIT_RESPONSES,
)
async def submit_report(data: ReportParams, submit: SubmitJob) -> dict[str, Any]:
    # Comparing every pair of posts is long work, so the worker does it.
    return await submit(REPORT_JOB, data.model_dump(by_alias=True))
{%- endif %}


@router.get(
    "/{post_id}", response_model=PostOut, summary="Read one of the caller's posts", responses=OWNED
)
async def read_post(post: OwnedPost) -> dict[str, Any]:
    return dict(post)


@router.get(
    "/{post_id}/analysis",
    response_model=PostAnalysis,
    summary="Text statistics for a post, computed in the process pool",
    responses={
        **OWNED,
        **error_responses(status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE),
    },
)
async def analyse_post(post: OwnedPost, process_pool: ProcessPool) -> dict[str, Any]:
    # CPU-bound, so neither awaited on the loop nor threaded (the GIL): another process.
    stats = await process_pool.run(post["author_id"], analyse_text, post["body"])
    return {
        **stats,
        "top_words": [{"word": word, "count": count} for word, count in stats["top_words"]],
    }


@router.patch(
    "/{post_id}", response_model=PostOut, summary="Change a post's title or body", responses=OWNED
)
async def update_post(post: OwnedPost, data: PostUpdate, conn: Conn) -> dict[str, Any]:
    return dict(await service.update_post(conn, post["id"], title=data.title, body=data.body))


@router.delete(
    "/{post_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a post", responses=OWNED
)
async def delete_post(post: OwnedPost, conn: Conn) -> None:
    await service.delete_post(conn, post["id"])
