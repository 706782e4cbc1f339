"""The one base model every request and response schema inherits (S7)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
)
from pydantic.alias_generators import to_camel


class CustomBaseModel(BaseModel):
    """camelCase on the wire, snake_case in Python, one JSON form per type.

    - Requests may use camelCase aliases or field names. Responses are camelCase: FastAPI
      serialises response models by alias. In Python, `model_dump()` keeps field names;
      pass `by_alias=True` to get the wire form.
    - Datetimes are ISO 8601 with an offset; a naive datetime is taken to be UTC.
    - Decimals are JSON numbers (pydantic's default is a string); UUIDs are strings.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )

    @field_serializer("*", mode="wrap", when_used="json")
    def _to_wire(self, value: Any, handler: SerializerFunctionWrapHandler) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            return float(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return handler(value)


def _storable(value: str) -> str:
    if "\x00" in value:
        msg = "must not contain the NUL character (U+0000)"
        raise ValueError(msg)
    return value


# Free text that is stored: PostgreSQL text cannot hold NUL, so it is refused here with a 422
# instead of failing in the database with a 500. The pattern documents it in the OpenAPI schema.
Text = Annotated[
    str, AfterValidator(_storable), Field(json_schema_extra={"pattern": "^[^\\x00]*$"})
]
