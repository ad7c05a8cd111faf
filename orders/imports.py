"""Order import from CSV or XLSX files (marketplace exports, bulk B2B orders).

One row per order line; rows sharing an ``order_ref`` form one order. A dry run
validates and prices every order and checks availability without writing anything;
a real run places each order through ``place_order`` in its own transaction, so an
order is imported whole or not at all, and a bad order never blocks the good ones.
Re-importing a file skips orders already imported (same channel and reference).

A file is untrusted input. ``read_dataset`` refuses it early, before it costs much:
over ``OMS_IMPORT_MAX_BYTES``; a workbook whose parts unpack (by the sizes its zip
declares, which the reader never reads past) to more than
``OMS_IMPORT_MAX_UNPACKED_BYTES``; more than ``OMS_IMPORT_MAX_ROWS`` rows, counted
while the rows stream in (the workbook in read-only mode), so a file of a million rows
stops being read at the limit. Rows are then checked by ``_request_for``, which both
the dry run and the real run use, so the dry run refuses whatever the real run would
refuse. The real run catches everything per order: each row ends in the report as
placed, skipped (already imported) or refused with its reason.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower

from core.actors import Actor
from core.errors import DomainError
from customers.models import Customer
from inventory.errors import InsufficientStock
from inventory.models import NetworkStock

from .errors import DuplicateOrder
from .models import Channel, Order
from .placement import LineRequest, OrderRequest, build_order, place_order

logger = logging.getLogger(__name__)

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
IMPORT_CHANNELS = (Channel.IMPORT, Channel.MARKETPLACE)
# The importer reads 16 columns; a header row wider than this is not an order file.
MAX_COLUMNS = 100
# Customization is a flat object of short texts (each at most
# ``placement.MAX_CUSTOMIZATION_VALUE`` characters); a longer cell is not one.
MAX_CUSTOMIZATION_CHARS = 2000
MAX_REFERENCE_CHARS = Order._meta.get_field("external_reference").max_length or 100
CUSTOMIZATION_EXAMPLE = '{"engraving": "Pat"}'
UNEXPECTED_ERROR = "Unexpected error (logged); nothing of this order was written."
NOT_A_WORKBOOK = (
    "The file is not a readable Excel workbook (.xlsx); save it again as .xlsx, "
    "or as CSV UTF-8, and upload it again."
)
MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    """How much one file may hold (settings ``OMS_IMPORT_MAX_ROWS``,
    ``OMS_IMPORT_MAX_BYTES``, ``OMS_IMPORT_MAX_UNPACKED_BYTES``), read when a file is."""

    rows: int
    file_bytes: int
    unpacked_bytes: int

    @classmethod
    def current(cls) -> ImportLimits:
        return cls(
            rows=settings.OMS_IMPORT_MAX_ROWS,
            file_bytes=settings.OMS_IMPORT_MAX_BYTES,
            unpacked_bytes=settings.OMS_IMPORT_MAX_UNPACKED_BYTES,
        )


def describe_size(size: int) -> str:
    """A byte count as a person reads it: ``5 MB``, ``1.5 MB``, ``10 bytes``."""
    if size >= MEGABYTE:
        return f"{size / MEGABYTE:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{size} bytes"


class ImportFileError(DomainError):
    code = "invalid_import_file"
    status = 400


class InvalidImportRows(ImportFileError):
    """Rows of one order that no order can be placed from; each problem names its row."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(problems[0], problems=list(problems))


@dataclass(frozen=True)
class ImportRow:
    number: int  # the row's number in the file; the header is row 1
    values: dict[str, Any]


@dataclass(frozen=True)
class ImportFile:
    """The rows of a file that hold something, under their (lower-cased) headers."""

    headers: list[str]
    rows: list[ImportRow]

    @property
    def height(self) -> int:
        return len(self.rows)


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


# --- reading a file ------------------------------------------------------------------


def read_dataset(content: bytes, filename: str) -> ImportFile:
    """Read an uploaded CSV or XLSX file into rows under its header, refusing (with
    ``ImportFileError``) a file too large, too many rows, or not readable at all."""
    limits = ImportLimits.current()
    name = filename.lower()
    if not name.endswith((".csv", ".xlsx")):
        raise ImportFileError("Upload a .csv or .xlsx file.")
    if len(content) > limits.file_bytes:
        raise ImportFileError(
            f"The file is larger than {describe_size(limits.file_bytes)}; split it."
        )
    table = _xlsx_table(content, limits) if name.endswith(".xlsx") else _csv_table(content)
    try:
        return _collect(table, limits)
    finally:
        table.close()  # a refusal leaves the reader part-way: release the workbook now


def _csv_table(content: bytes) -> Generator[Sequence[Any]]:
    # Decoded as it is read, so a refusal at the row limit decodes no further.
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "The file is not UTF-8 text; save it as CSV UTF-8 and upload it again."
        ) from exc
    except csv.Error as exc:
        raise ImportFileError(f"The file is not a readable CSV file ({exc}).") from exc


def _xlsx_table(content: bytes, limits: ImportLimits) -> Generator[Sequence[Any]]:
    # The sizes a zip declares bound what its reader unpacks (it stops there, and a
    # part whose data runs longer fails its checksum), so the sum is checked first:
    # a small file that unpacks to gigabytes is refused before any of it is unpacked.
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ImportFileError(NOT_A_WORKBOOK) from exc
    if unpacked > limits.unpacked_bytes:
        raise ImportFileError(
            f"The workbook unpacks to {describe_size(unpacked)}, more than the "
            f"{describe_size(limits.unpacked_bytes)} an import may hold; split it."
        )
    # Read-only mode streams the sheet row by row instead of building it in memory.
    # A malformed workbook can fail inside the library in many ways; each of them
    # means the same thing to the person who uploaded it.
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        logger.info("Order import: unreadable workbook", exc_info=True)
        raise ImportFileError(NOT_A_WORKBOOK) from exc
    try:
        sheet = book.active
        # The declared dimensions may be wrong (rows past them would be dropped) or
        # huge (every row padded to 16,384 columns): read what the sheet holds, at
        # most one column past the widest header allowed.
        sheet.reset_dimensions()
        yield from sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS + 1, values_only=True)
    except Exception as exc:
        logger.info("Order import: unreadable workbook", exc_info=True)
        raise ImportFileError(NOT_A_WORKBOOK) from exc
    finally:
        book.close()


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _collect(table: Iterator[Sequence[Any]], limits: ImportLimits) -> ImportFile:
    """Take rows from ``table`` until the end or a limit: blank rows are skipped but
    counted too, so that neither kind can keep the reader going for long."""
    header = next(table, None) or ()
    headers = [str(h if h is not None else "").strip().lower() for h in header]
    while headers and not headers[-1]:
        headers.pop()
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(f"At most {MAX_COLUMNS} columns per file.")
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        raise ImportFileError(f"Missing columns: {', '.join(missing)}.")
    rows: list[ImportRow] = []
    blank = 0
    for number, values in enumerate(table, start=2):
        if not any(_present(v) for v in values):
            blank += 1
            if blank > limits.rows:
                raise ImportFileError(
                    f"More than {limits.rows} empty rows; delete them and upload again."
                )
            continue
        if len(rows) == limits.rows:
            raise ImportFileError(f"At most {limits.rows} rows per file; split it.")
        if any(_present(v) for v in values[len(headers) :]):
            raise ImportFileError(
                f"Row {number} has a value in a column without a header: check the "
                "row for a stray comma or an unquoted value."
            )
        rows.append(ImportRow(number=number, values=dict(zip(headers, values, strict=False))))
    return ImportFile(headers=headers, rows=rows)


# --- rows into orders ----------------------------------------------------------------


def _cell(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _storable(text: str) -> bool:
    """PostgreSQL refuses a NUL character in text and in JSON; nothing else does."""
    return "\x00" not in text


def _group(dataset: ImportFile) -> dict[str, list[ImportRow]]:
    groups: dict[str, list[ImportRow]] = {}
    for row in dataset.rows:
        groups.setdefault(_cell(row.values, "order_ref"), []).append(row)
    return groups


def _unstorable_cells(row: ImportRow) -> list[str]:
    return [
        f"Row {row.number}: {column or 'a column without a header'} contains a NUL "
        "character; remove it (it often comes from a broken export) and upload again."
        for column, value in row.values.items()
        if isinstance(value, str) and not _storable(value)
    ]


def _customization(number: int, text: str, problems: list[str]) -> dict[str, Any]:
    """A line's customization cell: a flat JSON object of texts, or nothing. Nesting,
    which no product takes, is refused here, with a length cap that keeps any parser
    from recursing deep on it."""
    if not text:
        return {}
    data: Any = None
    if len(text) > MAX_CUSTOMIZATION_CHARS:
        problem = f"is longer than {MAX_CUSTOMIZATION_CHARS} characters"
    else:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            problem = "is not valid JSON"
        else:
            problem = _customization_problem(data)
    if problem:
        problems.append(
            f"Row {number}: customization {problem}; write a flat object of texts such as "
            f"{CUSTOMIZATION_EXAMPLE}."
        )
        return {}
    return dict(data)


def _customization_problem(data: Any) -> str:
    if not isinstance(data, dict):
        return "is not an object"
    nested = [str(k) for k, v in data.items() if isinstance(v, dict | list)]
    if nested:
        return f"is nested ({', '.join(nested)})"
    not_text = [str(k) for k, v in data.items() if not isinstance(v, str)]
    if not_text:
        return f"{', '.join(not_text)} must be text"
    if not all(_storable(k) and _storable(v) for k, v in data.items()):
        return "contains a NUL character"
    return ""


def _request_for(
    rows: list[ImportRow], *, channel: str, customers: Mapping[str, Customer]
) -> OrderRequest:
    """The order that ``rows`` ask for, or ``InvalidImportRows`` naming every row that
    cannot be stored as it is. The dry run and the real run both start here."""
    first = rows[0].values
    problems = [p for row in rows for p in _unstorable_cells(row)]
    if problems:
        raise InvalidImportRows(problems)
    reference = _cell(first, "order_ref")
    if len(reference) > MAX_REFERENCE_CHARS:
        raise InvalidImportRows(
            [f"Row {rows[0].number}: order_ref is longer than {MAX_REFERENCE_CHARS} characters."]
        )
    for row in rows[1:]:
        differing = [
            c
            for c in ORDER_COLUMNS
            if _cell(row.values, c) and _cell(row.values, c) != _cell(first, c)
        ]
        if differing:
            problems.append(
                f"Row {row.number} disagrees with the order's first row on {', '.join(differing)}."
            )
    lines = []
    for row in rows:
        raw_quantity = _cell(row.values, "quantity")
        try:
            quantity = int(raw_quantity)
        except ValueError:
            problems.append(f"Row {row.number}: quantity {raw_quantity!r} is not a whole number.")
            quantity = 0
        customization = _customization(row.number, _cell(row.values, "customization"), problems)
        lines.append(
            LineRequest(
                sku=_cell(row.values, "sku"), quantity=quantity, customization=customization
            )
        )
    if problems:
        raise InvalidImportRows(problems)
    email = _cell(first, "customer_email").lower()
    customer = customers.get(email)
    if customer is None:
        raise ImportFileError(f"No customer with e-mail {email or '(blank)'}.")
    address = {target: _cell(first, column) for column, target in ADDRESS_COLUMNS.items()}
    return OrderRequest(
        customer=customer,
        channel=channel,
        shipping_method_code=_cell(first, "shipping_method"),
        pickup_location_code=_cell(first, "pickup_location"),
        shipping_address=address if address["line1"] else None,
        po_number=_cell(first, "po_number"),
        lines=lines,
        external_reference=reference,
    )


def import_orders(
    dataset: ImportFile, *, channel: str, actor: Actor, dry_run: bool
) -> ImportReport:
    """Validate (dry run) or place every order of a read file; see the module doc.

    Each order runs in its own transaction and ends in the report whatever happens to
    it: a refusal with its reason, an order placed meanwhile by someone else as
    skipped, and an unexpected error logged with its traceback and reported as such,
    without stopping the orders after it.
    """
    if channel not in IMPORT_CHANNELS:
        raise ImportFileError(f"Imports come from {', '.join(IMPORT_CHANNELS)}.")
    groups = _group(dataset)
    # Cells PostgreSQL cannot take would break these look-ups for the whole file;
    # their orders are refused one by one below.
    emails = {_cell(rows[0].values, "customer_email").lower() for rows in groups.values()}
    customers = {
        c.email.lower(): c
        for c in Customer.objects.select_related("company")
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=[e for e in emails if _storable(e)])
    }
    done = set(
        Order.objects.filter(
            channel=channel, external_reference__in=[r for r in groups if _storable(r)]
        ).values_list("external_reference", flat=True)
    )
    # Dry runs check stock cumulatively, as the real run would consume it.
    promised: dict[int, int] = {}
    results = []
    for reference, rows in groups.items():
        result = OrderImportResult(reference=reference, rows=[row.number for row in rows])
        results.append(result)
        if not reference:
            result.errors.append("order_ref is blank.")
            continue
        if reference in done:
            result.skipped = True
            continue
        _import_one(
            result,
            rows,
            channel=channel,
            customers=customers,
            actor=actor,
            dry_run=dry_run,
            promised=promised,
        )
    return ImportReport(dry_run=dry_run, orders=results)


def _import_one(
    result: OrderImportResult,
    rows: list[ImportRow],
    *,
    channel: str,
    customers: Mapping[str, Customer],
    actor: Actor,
    dry_run: bool,
    promised: dict[int, int],
) -> None:
    """Check or place one order and write its outcome on ``result``."""
    try:
        # Its own transaction (or savepoint, under a caller's): whatever fails here
        # rolls back this order alone and leaves the connection usable for the next.
        with transaction.atomic():
            request = _request_for(rows, channel=channel, customers=customers)
            if dry_run:
                _dry_run(request, promised)
            else:
                result.order_number = place_order(request=request, actor=actor).order.number
    except DuplicateOrder:
        result.skipped = True  # imported since the file was read (the unique constraint)
    except DomainError as exc:
        result.errors.extend(exc.details.get("problems") or [exc.message])
        fields = exc.details.get("fields")
        if isinstance(fields, dict):
            result.errors.extend(f"{k}: {v}" for k, v in fields.items())
    except Exception:
        logger.exception(
            "Order import: order %r (rows %s) failed unexpectedly; it was not placed",
            result.reference,
            ", ".join(str(n) for n in result.rows),
        )
        result.errors.append(UNEXPECTED_ERROR)


def _dry_run(request: OrderRequest, promised: dict[int, int]) -> None:
    """Everything ``place_order`` checks, without writing: shape, prices, stock."""
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
