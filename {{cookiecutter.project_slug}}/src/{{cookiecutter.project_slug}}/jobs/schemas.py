from typing import Literal
from uuid import UUID

from pydantic import Field

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, InputModel, UtcDateTime


class ReportParams(InputModel):
    """Parameters of a posts report (the body of POST /jobs)."""

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
    # The most similar pairs, at most REPORT_MAX_PAIRS of them; all that were found are counted.
    near_duplicates: list[NearDuplicate]
    near_duplicates_found: int = 0


class JobSummary(CustomBaseModel):
    """A job as the list shows it: everything but the result (GET /jobs/{id} has that)."""

    id: UUID
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    params: ReportParams
    error: str | None
    attempts: int
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class JobOut(JobSummary):
    result: ReportResult | None
