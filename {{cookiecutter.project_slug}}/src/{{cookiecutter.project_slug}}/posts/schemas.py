from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from {{ cookiecutter.project_slug }}.core.schemas import (
    CustomBaseModel,
    InputModel,
    Text,
    UtcDateTime,
)

Title = Annotated[Text, Field(min_length=1, max_length=200)]
Body = Annotated[Text, Field(min_length=1, max_length=20_000)]


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
