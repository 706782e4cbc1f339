"""The one base model every request and response schema inherits (S7), and the wire types.

Request bodies inherit `InputModel`, the base model with unknown keys refused.

A field's type says how it travels, in both directions:
- `UtcDateTime`: an ISO 8601 string with an offset. A datetime sent without one is taken as UTC
  (a number is refused, not read as seconds since 1970), every
  value is converted to UTC (so one that cannot be, like year 1 at +01:00, is a 422, not a
  database error), and responses always carry the offset.
- `DecimalNumber`: a Decimal, sent and received as a JSON number (pydantic's default sends a
  string). Validation refuses NaN and infinities.
- `Text`: a str that PostgreSQL can store (no NUL character); `NonBlankText`: one that also has a
  character other than whitespace.
- `WholeNumber`: an int as JSON Schema counts integers: `3` and `3.0`, never `true` or `"3"`.
- UUIDs are strings on the wire, pydantic's default.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel


class CustomBaseModel(BaseModel):
    """camelCase on the wire, snake_case in Python.

    Requests may use camelCase aliases or field names. Responses are camelCase: FastAPI
    serialises response models by alias. In Python, `model_dump()` keeps field names; pass
    `by_alias=True` to get the wire form.

    In the OpenAPI schema, a field with a default is optional in a request and required in a
    response (a response always carries it), so generated clients type both sides right; a
    model used both ways gets two schemas, `<Name>-Input` and `<Name>-Output`.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        json_schema_serialization_defaults_required=True,
    )


# How many keys a request body may have beyond its model's fields before it is refused whole.
MAX_UNKNOWN_KEYS = 20


class InputModel(CustomBaseModel):
    """A request body. Keys the model does not have are refused (no mass assignment), and a body
    with far more keys than the model has fields is refused with one error, not one per key.
    NaN and infinities, which Python's JSON parser reads although JSON has no such numbers,
    are refused in every number field."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _not_too_many_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + MAX_UNKNOWN_KEYS:
            msg = f"has {len(data)} keys, far more than its {len(cls.model_fields)} fields"
            raise ValueError(msg)
        return data


def _a_string_or_a_datetime(value: Any) -> Any:
    # The schema says "string, date-time"; pydantic alone would also read a number as seconds.
    if not isinstance(value, str | datetime):
        msg = "must be an ISO 8601 date-time string"
        raise ValueError(msg)  # pydantic reports a ValueError as one 422 detail
    return value


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        msg = "is outside the range of datetimes that can be stored"
        raise ValueError(msg) from exc


UtcDateTime = Annotated[datetime, BeforeValidator(_a_string_or_a_datetime), AfterValidator(_in_utc)]

DecimalNumber = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(float, return_type=float, when_used="json"),
]


def _storable(value: str) -> str:
    if "\x00" in value:
        msg = "must not contain the NUL character (U+0000)"
        raise ValueError(msg)
    return value


# PostgreSQL text cannot hold NUL: refused here with a 422 instead of failing in the database
# with a 500. The pattern documents it in the OpenAPI schema.
Text = Annotated[
    str, AfterValidator(_storable), Field(json_schema_extra={"pattern": "^[^\\x00]*$"})
]
# For a model that strips whitespace (str_strip_whitespace): "  " would be stripped to "" and
# refused as too short, so the schema says a blank value is not allowed in the first place.
NonBlankText = Annotated[
    Text, Field(json_schema_extra={"pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$"})
]


def _whole_float_as_int(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer; `strict` then refuses true, "3" and 3.5.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_float_as_int), Field(strict=True)]
