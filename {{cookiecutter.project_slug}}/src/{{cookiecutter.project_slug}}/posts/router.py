import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.concurrency import run_in_threadpool

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.database import Conn
from {{ cookiecutter.project_slug }}.dependencies import ProcessPool
from {{ cookiecutter.project_slug }}.errors import ErrorResponse
from {{ cookiecutter.project_slug }}.posts import service
from {{ cookiecutter.project_slug }}.posts.analysis import analyse_text
from {{ cookiecutter.project_slug }}.posts.dependencies import OwnedPost
from {{ cookiecutter.project_slug }}.posts.schemas import (
    PostAnalysis,
    PostIn,
    PostOut,
    PostPage,
    PostUpdate,
)

router = APIRouter(
    prefix="/posts",
    tags=["posts"],
    responses={
        status.HTTP_401_UNAUTHORIZED: {
            "model": ErrorResponse,
            "description": "Missing or invalid token",
        }
    },
)
OWNED: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: {
        "model": ErrorResponse,
        "description": "The post belongs to someone else",
    },
    status.HTTP_404_NOT_FOUND: {"model": ErrorResponse, "description": "No such post"},
}


@router.post(
    "", response_model=PostOut, status_code=status.HTTP_201_CREATED, summary="Write a post"
)
async def create_post(data: PostIn, user: CurrentUser, conn: Conn) -> dict[str, Any]:
    return dict(await service.create_post(conn, user["id"], data.title, data.body))


@router.get("", response_model=PostPage, summary="The caller's posts, newest first")
async def list_posts(
    user: CurrentUser,
    conn: Conn,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    items = await service.list_posts(conn, user["id"], limit, offset)
    total = await service.count_posts(conn, user["id"])
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/{post_id}", response_model=PostOut, summary="Read one of the caller's posts", responses=OWNED
)
async def read_post(post: OwnedPost) -> dict[str, Any]:
    return dict(post)


@router.get(
    "/{post_id}/analysis",
    response_model=PostAnalysis,
    summary="Text statistics for a post, computed in the process pool",
    responses=OWNED,
)
async def analyse_post(post: OwnedPost, process_pool: ProcessPool) -> dict[str, Any]:
    # S3/S18: CPU-bound, so neither awaited on the loop nor threaded (the GIL): another process.
    # Submitting is done from a thread (S1): the pool starts its worker processes on first use,
    # inside `submit` (the forkserver, then a round trip to it per worker). Only the wait for
    # the result happens on the loop.
    future = await run_in_threadpool(process_pool.submit, analyse_text, post["body"])
    stats = await asyncio.wrap_future(future)
    return {
        **stats,
        "top_words": [{"word": word, "count": count} for word, count in stats["top_words"]],
    }


@router.patch(
    "/{post_id}", response_model=PostOut, summary="Change a post's title or body", responses=OWNED
)
async def update_post(post: OwnedPost, data: PostUpdate, conn: Conn) -> dict[str, Any]:
    return dict(await service.update_post(conn, post["id"], data.model_dump(exclude_unset=True)))


@router.delete(
    "/{post_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a post", responses=OWNED
)
async def delete_post(post: OwnedPost, conn: Conn) -> None:
    await service.delete_post(conn, post["id"])
