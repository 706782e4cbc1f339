from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from {{ cookiecutter.project_slug }}.core.schemas import (
    CustomBaseModel,
    InputModel,
    NonBlankText,
    UtcDateTime,
{%- if cookiecutter.include_celery == 'y' %}
    WholeNumber,
{%- endif %}
)

Title = Annotated[NonBlankText, Field(min_length=1, max_length=200)]
Body = Annotated[NonBlankText, Field(min_length=1, max_length=20_000)]


class PostIn(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    title: Title
    body: Body


class PostUpdate(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    title: Title | None = None
    body: Body | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "PostUpdate":
        if self.title is None and self.body is None:
            msg = "send at least one of title, body"
            raise ValueError(msg)
        return self


class PostOut(CustomBaseModel):
    id: UUID
    author_id: UUID
    title: str
    body: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class WordCount(CustomBaseModel):
    word: str
    count: int


class PostAnalysis(CustomBaseModel):
    word_count: int
    unique_words: int
    sentence_count: int
    average_word_length: float
    reading_time_seconds: int
    top_words: list[WordCount]
{%- if cookiecutter.include_celery == 'y' %}


class ReportParams(InputModel):
    """The body of POST /posts/report."""

    max_posts: WholeNumber = Field(default=5_000, ge=1, le=50_000)
    # strict: JSON `true` is not the number 1 (pydantic's lax mode would take it as one).
    similarity_threshold: float = Field(default=0.8, ge=0.1, le=1.0, strict=True)
    # The most similar pairs the result keeps; `nearDuplicatesFound` counts all of them.
    max_pairs: WholeNumber = Field(default=100, ge=1, le=1_000)


class NearDuplicate(CustomBaseModel):
    first: UUID
    second: UUID
    similarity: float


class ReportResult(CustomBaseModel):
    """The result of a posts report (the job's `result`)."""

    post_count: int
    word_count: int
    average_words_per_post: float
    top_words: list[WordCount]
    near_duplicates: list[NearDuplicate]
    near_duplicates_found: int
{%- endif %}
