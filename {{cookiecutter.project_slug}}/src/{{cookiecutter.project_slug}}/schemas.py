"""The one base model every request and response schema inherits (S7)."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SerializerFunctionWrapHandler,
)
from pydantic.alias_generators import to_camel
from pydantic_core import CoreSchema, core_schema


def _datetime_to_wire(value: datetime, handler: SerializerFunctionWrapHandler) -> Any:
    return handler(value.replace(tzinfo=UTC) if value.tzinfo is None else value)


# JSON-mode serializers by core schema type. Decimal's declares that it sends a number, so
# OpenAPI documents a number (validation already refuses NaN and infinities).
_WIRE_SERIALIZERS: dict[str, Any] = {
    "datetime": core_schema.wrap_serializer_function_ser_schema(
        _datetime_to_wire, when_used="json"
    ),
    "decimal": core_schema.plain_serializer_function_ser_schema(
        float, when_used="json", return_schema=core_schema.float_schema()
    ),
}


def _add_wire_serializers(schema: Any, *, root: bool = True) -> None:
    """Attach the serializers above to the datetime and Decimal values of one model, in place."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "model" and not root:
            return  # another model: its own class has done this already
        if isinstance(kind, str) and kind in _WIRE_SERIALIZERS:
            schema.setdefault("serialization", _WIRE_SERIALIZERS[kind])
        for key, value in schema.items():
            if key != "metadata":
                _add_wire_serializers(value, root=False)
    elif isinstance(schema, list):
        for value in schema:
            _add_wire_serializers(value, root=False)


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

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler, /
    ) -> CoreSchema:
        # The wire form is attached to the datetime and Decimal values only, wherever they sit
        # (a field, a list, an optional). A serializer on every field instead would run Python
        # code for each value of each response, and hide the field types from OpenAPI.
        schema = handler(source)
        _add_wire_serializers(schema)
        return schema


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
