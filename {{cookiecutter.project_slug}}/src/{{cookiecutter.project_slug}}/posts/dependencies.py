"""Who may touch a post: one dependency, reused by every route that takes a post id."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.posts import service
from {{ cookiecutter.project_slug }}.posts.exceptions import NotPostAuthorError, PostNotFoundError
from {{ cookiecutter.project_slug }}.posts.service import PostRecord


async def valid_owned_post(post_id: UUID, user: CurrentUser, conn: Conn) -> PostRecord:
    """The post `post_id` if it exists (else 404) and the caller wrote it (else 403)."""
    post = await service.get_post(conn, post_id)
    if post is None:
        raise PostNotFoundError
    if post["author_id"] != user["id"]:
        raise NotPostAuthorError
    return post


OwnedPost = Annotated[PostRecord, Depends(valid_owned_post)]
