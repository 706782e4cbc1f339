from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class PostNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "post_not_found"
    message = "No post with this id."


class NotPostAuthorError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "not_post_author"
    message = "Only the author may read or change this post."
