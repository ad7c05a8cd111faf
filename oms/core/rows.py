"""Hand-written statements for the few queries that run on every API request.

The ORM compiles a queryset into SQL on every call, which costs more CPU than the
database spends answering these small statements. Here the SQL is written once per
process from the models' own metadata (so it follows the schema), and rows become
model instances through ``Model.from_db``, exactly as the ORM would build them.

Use these only on hot paths; everything else stays on the ORM.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
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
    for index, converters, column in _converters(model):
        value = values[index]
        for converter in converters:
            value = converter(value, column, connection)
        values[index] = value
    return model.from_db(connection.alias, names, values)


def placeholders(count: int) -> str:
    """``%s, %s, …``: an ``IN (…)`` list that works on every backend."""
    return ", ".join(["%s"] * count)


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def _insert_plan(model: type[Model], count: int) -> tuple[str, tuple[Any, ...]]:
    """``INSERT … VALUES (…), … RETURNING pk`` for ``count`` rows of ``model``: every
    concrete field but an auto-incremented primary key."""
    meta = model._meta
    pk = meta.pk
    fields = tuple(
        f for f in meta.concrete_fields if not (f is pk and getattr(f, "db_returning", False))
    )
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {table(model)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)} RETURNING {quote(pk.column)}"
    )
    return sql, fields


def insert(objs: Sequence[Model]) -> None:
    """Insert new instances of one model in one statement and set their primary keys,
    as ``bulk_create`` does (no signals, no ``save()``), with the SQL written once per
    process and row count. Field ``pre_save`` hooks (``auto_now_add``) still run."""
    if not objs:
        return
    model = type(objs[0])
    sql, fields = _insert_plan(model, len(objs))
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    pk_name = model._meta.pk.attname
    for obj, (pk,) in zip(objs, returned, strict=True):
        setattr(obj, pk_name, pk)
        obj._state.adding = False
        obj._state.db = connection.alias
