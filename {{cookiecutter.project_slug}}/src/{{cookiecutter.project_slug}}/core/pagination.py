"""The one way to page a list: `Pagination` in the route, `Page[T]` as its response model."""

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel

T = TypeVar("T")

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int

    def page(self, items: list[Any], total: int) -> dict[str, Any]:
        """What a route returns for `Page[T]`."""
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


async def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(CustomBaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


Pagination = Annotated[PageParams, Depends(_page_params)]
