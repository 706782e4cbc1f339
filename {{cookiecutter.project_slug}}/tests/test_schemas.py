"""CustomBaseModel: camelCase on the wire, snake_case in Python, one JSON form per type (S7)."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import httpx
from fastapi import APIRouter, FastAPI

from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.schemas import CustomBaseModel

from tests.conftest import ClientFactory

ORDER_ID = UUID("12345678-1234-5678-1234-567812345678")


class Order(CustomBaseModel):
    order_id: UUID
    unit_price: Decimal
    placed_at: datetime


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


def test_naive_datetimes_are_sent_as_utc() -> None:
    order = Order(order_id=ORDER_ID, unit_price=Decimal(1), placed_at=datetime(2024, 5, 1, 12, 30))  # noqa: DTZ001
    assert json.loads(order.model_dump_json(by_alias=True))["placedAt"] == "2024-05-01T12:30:00Z"


def test_offsets_are_kept() -> None:
    plus_two = timezone(timedelta(hours=2))
    order = Order(
        order_id=ORDER_ID,
        unit_price=Decimal(1),
        placed_at=datetime(2024, 5, 1, 12, tzinfo=plus_two),
    )
    assert (
        json.loads(order.model_dump_json(by_alias=True))["placedAt"] == "2024-05-01T12:00:00+02:00"
    )


def test_python_dump_keeps_python_names_and_types() -> None:
    placed_at = datetime(2024, 5, 1, tzinfo=UTC)
    order = Order(order_id=ORDER_ID, unit_price=Decimal("2.50"), placed_at=placed_at)
    assert order.model_dump() == {
        "order_id": ORDER_ID,
        "unit_price": Decimal("2.50"),
        "placed_at": placed_at,
    }


class Invoice(CustomBaseModel):
    lines: list[Decimal]
    due_dates: list[datetime]
    paid_at: datetime | None = None


def test_the_wire_form_reaches_values_inside_lists() -> None:
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
    sent = {"orderId": str(ORDER_ID), "unitPrice": 12.5, "placedAt": "2024-05-01T08:00:00+00:00"}
    async with client_for(settings, add_order_route) as client:
        response: httpx.Response = await client.post("/test/orders", json=sent)
    assert response.status_code == 200
    assert response.json() == {
        "orderId": str(ORDER_ID),
        "unitPrice": 12.5,
        "placedAt": "2024-05-01T08:00:00Z",
    }
