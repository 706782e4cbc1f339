from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, UtcDateTime


class ReportParams(CustomBaseModel):
    """Parameters of a posts report (the body of POST /jobs)."""

    model_config = ConfigDict(extra="forbid")

    # strict: JSON `true` is not the number 1 (pydantic's lax mode would take it as one).
    max_posts: int = Field(default=5_000, ge=1, le=50_000, strict=True)
    similarity_threshold: float = Field(default=0.8, ge=0.1, le=1.0, strict=True)


class WordCount(CustomBaseModel):
    word: str
    count: int


class NearDuplicate(CustomBaseModel):
    first: UUID
    second: UUID
    similarity: float


class ReportResult(CustomBaseModel):
    post_count: int
    word_count: int
    average_words_per_post: float
    top_words: list[WordCount]
    near_duplicates: list[NearDuplicate]


class JobOut(CustomBaseModel):
    id: UUID
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    params: ReportParams
    result: ReportResult | None
    error: str | None
    attempts: int
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
