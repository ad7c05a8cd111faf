"""Order numbers: ``SO-`` and at least seven digits, from a database sequence.

PostgreSQL hands numbers out from ``order_number_seq`` without locking anything, so
concurrent placements never queue on a counter row. SQLite (the demo) serialises
writers anyway, so the next number is one past the highest taken.
"""

from django.db import connection

from . import sql
from .models import Order

PREFIX = "SO-"
START = 1_000_001
WIDTH = 7


def next_order_number_sql() -> str | None:
    """An SQL expression that takes the next order number, so that an ``INSERT`` can
    number its order without a query of its own (PostgreSQL), else None."""
    if connection.vendor != "postgresql":
        return None
    return sql.order_number_sql(PREFIX, WIDTH)


def next_order_number() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.NEXT_ORDER_NUMBER)
            value = cursor.fetchone()[0]
    else:
        last = Order.objects.order_by("-id").values_list("number", flat=True).first()
        value = int(last.removeprefix(PREFIX)) + 1 if last else START
    return f"{PREFIX}{value:0{WIDTH}d}"
