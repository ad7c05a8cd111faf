"""Every statement the billing app writes by hand is here; ``core.rows`` builds the
INSERTs. Table and column names come from the models' metadata; values are parameters."""

from functools import cache

from core import rows

from .models import DocumentSeries


@cache
def next_number_sql() -> str:
    """Create the (series, year) counter at 1 or add one to it, returning the number; the
    row stays locked until the transaction ends. Parameters: series, year."""
    table = rows.table(DocumentSeries)
    return (
        f"INSERT INTO {table} (series, year, last_number) VALUES (%s, %s, 1) "  # noqa: S608
        "ON CONFLICT (series, year) DO UPDATE "
        f"SET last_number = {table}.last_number + 1 RETURNING last_number"
    )
