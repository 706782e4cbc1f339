"""CustomBaseModel and its wire types: camelCase on the wire, one JSON form per type (S7)."""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.core.schemas import (
    CustomBaseModel,
    DecimalNumber,
    UtcDateTime,
    WholeNumber,
)
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory

ORDER_ID = UUID("12345678-1234-5678-1234-567812345678")


class Order(CustomBaseModel):
    order_id: UUID
    unit_price: DecimalNumber
    placed_at: UtcDateTime


def test_fields_are_camel_case_on_the_wire() -> None:
    order = Order(
        order_id=ORDER_ID, unit_price=Decimal("9.99"), placed_at=datetime(2024, 5, 1, tzinfo=UTC)
    )
    assert json.loads(order.model_dump_json(by_alias=True)) == {
        "orderId": str(ORDER_ID),
        "unitPrice": 9.99,
        "placedAt": "2024-05-01T00:00:00Z",
    }


def test_models_accept_aliases_and_field_names() -> None:
    by_alias = Order.model_validate(
        {"orderId": str(ORDER_ID), "unitPrice": "1.5", "placedAt": "2024-05-01T00:00:00Z"}
    )
    by_name = Order.model_validate(
        {"order_id": str(ORDER_ID), "unit_price": "1.5", "placed_at": "2024-05-01T00:00:00Z"}
    )
    assert by_alias == by_name
    assert by_alias.unit_price == Decimal("1.5")


def test_a_datetime_without_an_offset_is_taken_as_utc() -> None:
    order = Order(order_id=ORDER_ID, unit_price=Decimal(1), placed_at=datetime(2024, 5, 1, 12, 30))  # noqa: DTZ001
    assert order.placed_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert json.loads(order.model_dump_json(by_alias=True))["placedAt"] == "2024-05-01T12:30:00Z"


def test_a_datetime_with_an_offset_is_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    order = Order.model_validate(
        {"orderId": str(ORDER_ID), "unitPrice": 1, "placedAt": "2024-05-01T12:00:00+02:00"}
    )
    assert order.placed_at == datetime(2024, 5, 1, 12, tzinfo=plus_two)
    assert order.placed_at.utcoffset() == timedelta(0)
    assert json.loads(order.model_dump_json(by_alias=True))["placedAt"] == "2024-05-01T10:00:00Z"


@pytest.mark.parametrize("placed_at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_datetime_that_has_no_utc_form_is_a_validation_error(placed_at: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate({"orderId": str(ORDER_ID), "unitPrice": 1, "placedAt": placed_at})
    [error] = caught.value.errors()
    assert error["loc"] == ("placedAt",)
    assert "outside the range" in error["msg"]


@pytest.mark.parametrize("placed_at", [0, 1714567890, 1714567890.5, True])
def test_a_number_is_not_a_datetime(placed_at: object) -> None:
    # The schema says a date-time string; seconds since 1970 are not read as one.
    with pytest.raises(ValidationError) as caught:
        Order.model_validate({"orderId": str(ORDER_ID), "unitPrice": 1, "placedAt": placed_at})
    [error] = caught.value.errors()
    assert error["loc"] == ("placedAt",)
    assert "ISO 8601" in error["msg"]


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-Infinity"])
def test_a_decimal_must_be_a_finite_number(price: str) -> None:
    with pytest.raises(ValidationError):
        Order.model_validate(
            {"orderId": str(ORDER_ID), "unitPrice": price, "placedAt": "2024-05-01T00:00:00Z"}
        )


class Quantity(CustomBaseModel):
    count: WholeNumber


@pytest.mark.parametrize(("sent", "read"), [("3", 3), ("3.0", 3), ("-2", -2)])
def test_a_whole_number_is_what_json_schema_calls_an_integer(sent: str, read: int) -> None:
    assert Quantity.model_validate_json('{"count": ' + sent + "}").count == read


@pytest.mark.parametrize("sent", ["true", '"3"', "3.5", "null"])
def test_a_whole_number_refuses_what_json_schema_does_not_call_an_integer(sent: str) -> None:
    with pytest.raises(ValidationError):
        Quantity.model_validate_json('{"count": ' + sent + "}")


def test_python_dump_keeps_python_names_and_types() -> None:
    placed_at = datetime(2024, 5, 1, tzinfo=UTC)
    order = Order(order_id=ORDER_ID, unit_price=Decimal("2.50"), placed_at=placed_at)
    assert order.model_dump() == {
        "order_id": ORDER_ID,
        "unit_price": Decimal("2.50"),
        "placed_at": placed_at,
    }


class Invoice(CustomBaseModel):
    lines: list[DecimalNumber]
    due_dates: list[UtcDateTime]
    paid_at: UtcDateTime | None = None


def test_the_wire_types_work_inside_lists_and_optionals() -> None:
    invoice = Invoice(lines=[Decimal("1.10")], due_dates=[datetime(2024, 5, 1)])  # noqa: DTZ001
    assert json.loads(invoice.model_dump_json(by_alias=True)) == {
        "lines": [1.1],
        "dueDates": ["2024-05-01T00:00:00Z"],
        "paidAt": None,
    }


def test_documented_response_fields_keep_their_types() -> None:
    # S16: OpenAPI describes responses with the serialization schema; it must say what is sent.
    properties = Order.model_json_schema(mode="serialization", by_alias=True)["properties"]
    assert properties["orderId"] == {"type": "string", "format": "uuid", "title": "Orderid"}
    assert properties["unitPrice"] == {"type": "number", "title": "Unitprice"}
    assert properties["placedAt"] == {"type": "string", "format": "date-time", "title": "Placedat"}


def add_order_route(app: FastAPI) -> None:
    router = APIRouter()

    @router.post("/test/orders", response_model=Order)
    async def echo(order: Order) -> dict[str, object]:
        return order.model_dump()  # S8: return plain data; response_model validates once

    app.include_router(router)


async def test_round_trip_through_a_route(settings: Settings, client_for: ClientFactory) -> None:
    sent = {"orderId": str(ORDER_ID), "unitPrice": 12.5, "placedAt": "2024-05-01T10:00:00+02:00"}
    async with client_for(settings, add_order_route) as client:
        response: httpx.Response = await client.post("/test/orders", json=sent)
        out_of_range = await client.post(
            "/test/orders", json={**sent, "placedAt": "0001-01-01T00:00:00+05:00"}
        )
    assert response.status_code == 200
    assert response.json() == {
        "orderId": str(ORDER_ID),
        "unitPrice": 12.5,
        "placedAt": "2024-05-01T08:00:00Z",
    }
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["details"][0]["loc"] == ["body", "placedAt"]


@pytest.fixture
def berlin_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time zone is Europe/Berlin, as on a server set up in Germany."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("berlin_local_time")
async def test_a_naive_datetime_is_stored_as_utc_whatever_the_local_time_zone(
    settings: Settings,
) -> None:
    # asyncpg would read a naive datetime in the process's local zone (17:00 Berlin = 16:00 UTC).
    order = Order.model_validate(
        {"orderId": str(ORDER_ID), "unitPrice": 1, "placedAt": "2024-01-15T17:00:00"}
    )
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await conn.execute("SET TIME ZONE 'Europe/Berlin'")
        stored = await conn.fetchval(
            "SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'HH24:MI')", order.placed_at
        )
    finally:
        await conn.close()
    assert stored == "17:00"
