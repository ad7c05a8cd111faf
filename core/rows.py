"""Hand-written statements for the few queries that run on every API request.

The ORM compiles a queryset into SQL on every call, which costs more CPU than the
database spends answering these small statements. Here the SQL is written once per
process from the models' own metadata (so it follows the schema), and rows become
model instances through ``Model.from_db``, exactly as the ORM would build them.

Use these only on hot paths; everything else stays on the ORM.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field as DjangoField
from django.db.models import Model

M = TypeVar("M", bound=Model)


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


@cache
def columns(model: type[Model], alias: str) -> str:
    """``alias."col", ...`` for every concrete field of ``model``, in field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@cache
def _pk_index(model: type[Model]) -> int:
    return _attnames(model).index(model._meta.pk.attname)


def width(model: type[Model]) -> int:
    return len(_attnames(model))


@cache
def _converters(model: type[Model]) -> tuple[tuple[int, list[Any], Any], ...]:
    """Per column, the converters the ORM applies to a fetched value (the backend's and
    the field's, e.g. JSON text to objects, SQLite's text to decimals and datetimes)."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((index, converters, column))
    return tuple(found)


def instance(model: type[M], row: Sequence[Any], start: int = 0) -> M | None:
    """The ``model`` instance whose columns begin at ``row[start]`` (as selected by
    ``columns``), or None when its primary key is NULL (an outer join found none)."""
    names = _attnames(model)
    values = list(row[start : start + len(names)])
    if values[_pk_index(model)] is None:
        return None
    db = connections[DEFAULT_DB_ALIAS]
    for index, converters, column in _converters(model):
        value = values[index]
        for converter in converters:
            value = converter(value, column, db)
        values[index] = value
    return model.from_db(db.alias, names, values)


def placeholders(count: int) -> str:
    """``%s, %s, …``: an ``IN (…)`` list that works on every backend."""
    return ", ".join(["%s"] * count)


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Field types whose values this module's callers set as plain str / int / bool / None,
# which the database driver takes as they are (their ``get_db_prep_save`` would return
# them unchanged): preparing them field by field was a tenth of an order's CPU.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "ForeignKey",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
    }
)
_PLAIN_VALUES = (str, int, bool, type(None))


def _takes_plain_values(field: Any) -> bool:
    return (
        field.get_internal_type() in _PLAIN_TYPES
        and type(field).pre_save is DjangoField.pre_save
        and (not field.is_relation or field.target_field.get_internal_type() in _PLAIN_TYPES)
    )


@dataclass(frozen=True)
class _InsertPlan:
    model: type[Model]
    fields: tuple[Any, ...]  # every concrete field but an auto primary key
    plain: tuple[bool, ...]
    head: str  # INSERT INTO table (columns)
    values: str  # one row of VALUES
    returning: str  # RETURNING the primary key
    unnest: str


@cache
def _insert_plan(model: type[Model]) -> _InsertPlan:
    """How to insert ``model`` rows: every concrete field but an auto primary key."""
    meta = model._meta
    pk = meta.pk
    fields = tuple(
        f for f in meta.concrete_fields if not (f is pk and getattr(f, "db_returning", False))
    )
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    return _InsertPlan(
        model=model,
        fields=fields,
        plain=tuple(_takes_plain_values(f) for f in fields),
        head=f"INSERT INTO {table(model)} ({', '.join(quote(f.column) for f in fields)}) ",
        values="(" + ", ".join(["%s"] * len(fields)) + ")",
        returning=f" RETURNING {quote(pk.column)}",
        unnest=f"SELECT * FROM unnest({arrays})",  # noqa: S608 - types from model metadata
    )


@cache
def _values_sql(plan: _InsertPlan, count: int) -> str:
    return f"{plan.head}VALUES {', '.join([plan.values] * count)}{plan.returning}"


def _row(plan: _InsertPlan, obj: Model, db: Any) -> list[Any]:
    values = []
    for field, plain in zip(plan.fields, plan.plain, strict=True):
        if plain:
            value = getattr(obj, field.attname)
            if type(value) in _PLAIN_VALUES:
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(obj, True), db))
    return values


def insert(objs: Sequence[Model]) -> None:
    """Insert new instances of one model in one statement and set their primary keys,
    as ``bulk_create`` does (no signals, no ``save()``); field ``pre_save`` hooks
    (``auto_now_add``) still run. The SQL is written once per process; on PostgreSQL
    several rows travel as one array per column (``unnest``), so one prepared
    statement serves every row count."""
    if not objs:
        return
    db = connections[DEFAULT_DB_ALIAS]
    plan = _insert_plan(type(objs[0]))
    rows = [_row(plan, obj, db) for obj in objs]
    if len(rows) > 1 and db.vendor == "postgresql":
        sql = plan.head + plan.unnest + plan.returning
        params: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    else:
        sql = _values_sql(plan, len(rows))
        params = [value for row in rows for value in row]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    if len(returned) != len(objs):
        raise RuntimeError(f"{len(objs)} rows inserted, {len(returned)} returned")
    pk = plan.model._meta.pk.attname
    for obj, (value,) in zip(objs, returned, strict=True):
        setattr(obj, pk, value)
        obj._state.adding = False
        obj._state.db = db.alias
