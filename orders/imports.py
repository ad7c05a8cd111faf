"""Order import from CSV or XLSX files (marketplace exports, bulk B2B orders).

One row per order line; rows sharing an ``order_ref`` form one order. A dry run
validates and prices every order and checks availability without writing anything;
a real run places each order through ``place_order`` in its own transaction, so an
order is imported whole or not at all, and a bad order never blocks the good ones.
Re-importing a file skips orders already imported (same channel and reference).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tablib
from django.db.models.functions import Lower
from import_export.formats.base_formats import CSV, XLSX

from customers.models import Customer
from inventory.models import NetworkStock
from oms.core.actors import Actor
from oms.core.errors import DomainError

from .models import Channel, Order
from .placement import LineRequest, OrderRequest, build_order, place_order

REQUIRED_COLUMNS = ("order_ref", "customer_email", "sku", "quantity", "shipping_method")
ADDRESS_COLUMNS = {
    "ship_name": "name",
    "ship_line1": "line1",
    "ship_line2": "line2",
    "ship_city": "city",
    "ship_region": "region",
    "ship_postal_code": "postal_code",
    "ship_country": "country",
    "ship_phone": "phone",
}
ORDER_COLUMNS = (
    "customer_email",
    "shipping_method",
    "po_number",
    "pickup_location",
    *ADDRESS_COLUMNS,
)
MAX_ROWS = 20_000
IMPORT_CHANNELS = (Channel.IMPORT, Channel.MARKETPLACE)


class ImportFileError(DomainError):
    code = "invalid_import_file"
    status = 400


@dataclass
class OrderImportResult:
    reference: str
    rows: list[int]
    order_number: str = ""
    errors: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    dry_run: bool
    orders: list[OrderImportResult]

    @property
    def valid(self) -> int:
        return sum(1 for o in self.orders if o.ok and not o.skipped)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.orders if not o.ok)

    @property
    def skipped(self) -> int:
        return sum(1 for o in self.orders if o.skipped)


def read_dataset(content: bytes, filename: str) -> tablib.Dataset:
    """Parse an uploaded CSV or XLSX file into rows with a header."""
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            dataset = XLSX().create_dataset(content)
        elif name.endswith(".csv"):
            dataset = CSV().create_dataset(content.decode("utf-8-sig"))
        else:
            raise ImportFileError("Upload a .csv or .xlsx file.")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ImportFileError(f"The file could not be read: {exc}") from exc
    headers = [str(h or "").strip().lower() for h in (dataset.headers or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        raise ImportFileError(f"Missing columns: {', '.join(missing)}.")
    if dataset.height > MAX_ROWS:
        raise ImportFileError(f"At most {MAX_ROWS} rows per file.")
    dataset.headers = headers
    return dataset


def _cell(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _group(dataset: tablib.Dataset) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, values in enumerate(dataset, start=2):  # row 1 is the header
        row = dict(zip(dataset.headers, values, strict=False))
        groups.setdefault(_cell(row, "order_ref"), []).append((index, row))
    return groups


def _request_for(
    rows: list[tuple[int, dict[str, Any]]], *, channel: str, customers: Mapping[str, Customer]
) -> OrderRequest:
    first = rows[0][1]
    for number, row in rows[1:]:
        differing = [c for c in ORDER_COLUMNS if _cell(row, c) and _cell(row, c) != _cell(first, c)]
        if differing:
            raise ImportFileError(
                f"Row {number} disagrees with the order's first row on {', '.join(differing)}."
            )
    email = _cell(first, "customer_email").lower()
    customer = customers.get(email)
    if customer is None:
        raise ImportFileError(f"No customer with e-mail {email or '(blank)'}.")
    lines = []
    for number, row in rows:
        raw_quantity = _cell(row, "quantity")
        try:
            quantity = int(raw_quantity)
        except ValueError as exc:
            raise ImportFileError(
                f"Row {number}: quantity {raw_quantity!r} is not a whole number."
            ) from exc
        customization_text = _cell(row, "customization")
        try:
            customization = json.loads(customization_text) if customization_text else {}
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"Row {number}: customization is not valid JSON.") from exc
        lines.append(
            LineRequest(sku=_cell(row, "sku"), quantity=quantity, customization=customization)
        )
    address = {target: _cell(first, column) for column, target in ADDRESS_COLUMNS.items()}
    return OrderRequest(
        customer=customer,
        channel=channel,
        shipping_method_code=_cell(first, "shipping_method"),
        pickup_location_code=_cell(first, "pickup_location"),
        shipping_address=address if address["line1"] else None,
        po_number=_cell(first, "po_number"),
        lines=lines,
        external_reference=_cell(first, "order_ref"),
    )


def import_orders(
    dataset: tablib.Dataset, *, channel: str, actor: Actor, dry_run: bool
) -> ImportReport:
    """Validate (dry run) or place every order of a parsed file; see the module doc."""
    if channel not in IMPORT_CHANNELS:
        raise ImportFileError(f"Imports come from {', '.join(IMPORT_CHANNELS)}.")
    groups = _group(dataset)
    emails = {_cell(rows[0][1], "customer_email").lower() for rows in groups.values()}
    customers = {
        c.email.lower(): c
        for c in Customer.objects.select_related("company")
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
    }
    done = set(
        Order.objects.filter(channel=channel, external_reference__in=list(groups)).values_list(
            "external_reference", flat=True
        )
    )
    # Dry runs check stock cumulatively, as the real run would consume it.
    promised: dict[int, int] = {}
    results = []
    for reference, rows in groups.items():
        result = OrderImportResult(reference=reference, rows=[n for n, _ in rows])
        results.append(result)
        if not reference:
            result.errors.append("order_ref is blank.")
            continue
        if reference in done:
            result.skipped = True
            continue
        try:
            request = _request_for(rows, channel=channel, customers=customers)
            if dry_run:
                _dry_run(request, promised)
            else:
                result.order_number = place_order(request=request, actor=actor).order.number
        except DomainError as exc:
            result.errors.append(exc.message)
            fields = exc.details.get("fields")
            if isinstance(fields, dict):
                result.errors.extend(f"{k}: {v}" for k, v in fields.items())
    return ImportReport(dry_run=dry_run, orders=results)


def _dry_run(request: OrderRequest, promised: dict[int, int]) -> None:
    """Everything ``place_order`` checks, without writing: shape, prices, stock."""
    from inventory.errors import InsufficientStock

    order, lines, products = build_order(request)
    demand: dict[int, int] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, 0) + line.quantity_ordered
    available = {
        n.product_id: n.available_to_promise
        for n in NetworkStock.objects.filter(product_id__in=list(demand))
    }
    backorderable = {
        p.pk
        for p in products.values()
        if p.allow_backorder or (order.company is not None and order.company.allow_backorders)
    }
    short = []
    for product_id, quantity in demand.items():
        left = available.get(product_id, 0) - promised.get(product_id, 0)
        if quantity > left and product_id not in backorderable:
            sku = next(li.sku for li in lines if li.product_id == product_id)
            short.append(f"{sku} ({max(left, 0)} of {quantity} available)")
    if short:
        raise InsufficientStock("Not enough stock for " + ", ".join(short) + ".")
    for product_id, quantity in demand.items():
        promised[product_id] = promised.get(product_id, 0) + quantity
