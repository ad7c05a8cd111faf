"""Hand-written statements for the few queries that run on every API request.

The ORM compiles a queryset into SQL on every call, which costs more CPU than the
database spends answering these small statements. Here the SQL is written once per
process from the models' own metadata (so it follows the schema), and rows become
model instances through ``Model.from_db``, exactly as the ORM would build them.

Use these only on hot paths; everything else stays on the ORM.
"""

from collections.abc import Mapping, Sequence
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
    fields: tuple[Any, ...]  # the fields that take a parameter
    plain: tuple[bool, ...]
    head: str  # INSERT INTO table (columns)
    values: str  # one row of VALUES: placeholders, and the computed expressions
    returned: tuple[str, ...]  # attnames set from RETURNING: the primary key first
    returning: str
    unnest: str


@cache
def _insert_plan(model: type[Model], computed: tuple[tuple[str, str], ...] = ()) -> _InsertPlan:
    """How to insert ``model`` rows: every concrete field but an auto primary key.
    ``computed`` maps attnames to SQL expressions that the database evaluates
    instead of taking a value (their results come back through RETURNING)."""
    meta = model._meta
    pk = meta.pk
    expressions = dict(computed)
    columns = tuple(
        f for f in meta.concrete_fields if not (f is pk and getattr(f, "db_returning", False))
    )
    for attname in expressions:
        field = next((f for f in columns if f.attname == attname), None)
        if field is None or not _takes_plain_values(field):
            raise ValueError(f"{model.__name__}.{attname} cannot be computed by the database")
    fields = tuple(f for f in columns if f.attname not in expressions)
    plain = tuple(_takes_plain_values(f) for f in fields)
    quote = connection.ops.quote_name
    head = f"INSERT INTO {table(model)} ({', '.join(quote(f.column) for f in columns)}) "
    values = "(" + ", ".join(expressions.get(f.attname, "%s") for f in columns) + ")"
    returned_fields = [pk, *(f for f in columns if f.attname in expressions)]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    return _InsertPlan(
        model=model,
        fields=fields,
        plain=plain,
        head=head,
        values=values,
        returned=tuple(f.attname for f in returned_fields),
        returning=" RETURNING " + ", ".join(quote(f.column) for f in returned_fields),
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


def _saved(
    plan: _InsertPlan, objs: Sequence[Model], returned: Sequence[Sequence[Any]], db: Any
) -> None:
    if len(returned) != len(objs):
        raise RuntimeError(f"{len(objs)} rows inserted, {len(returned)} returned")
    names = plan.returned
    for obj, values in zip(objs, returned, strict=True):
        for name, value in zip(names, values, strict=True):
            setattr(obj, name, value)
        obj._state.adding = False
        obj._state.db = db.alias


def insert(objs: Sequence[Model], *, computed: Mapping[str, str] | None = None) -> None:
    """Insert new instances of one model in one statement and set their primary keys,
    as ``bulk_create`` does (no signals, no ``save()``); field ``pre_save`` hooks
    (``auto_now_add``) still run. The SQL is written once per process; on PostgreSQL
    several rows travel as one array per column (``unnest``), so one prepared
    statement serves every row count.

    ``computed`` (attname → SQL expression, for text and integer fields) lets the
    database fill a field, e.g. from a sequence; the instances get its value back."""
    if not objs:
        return
    db = connections[DEFAULT_DB_ALIAS]
    plan = _insert_plan(type(objs[0]), tuple(sorted((computed or {}).items())))
    rows = [_row(plan, obj, db) for obj in objs]
    if len(rows) > 1 and db.vendor == "postgresql" and not computed:
        sql = plan.head + plan.unnest + plan.returning
        params: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    else:
        sql = _values_sql(plan, len(rows))
        params = [value for row in rows for value in row]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    _saved(plan, objs, returned, db)


@cache
def _groups_sql(plans: tuple[_InsertPlan, ...]) -> str:
    steps = ", ".join(
        f"g{index} AS ({plan.head}{plan.unnest}{plan.returning})"
        for index, plan in enumerate(plans)
    )
    results = " UNION ALL ".join(
        f"SELECT {index}, g{index}.* FROM g{index}"  # noqa: S608 - names from this function
        for index in range(len(plans))
    )
    return f"WITH {steps} {results}"


def insert_groups(*groups: Sequence[Model]) -> None:
    """Insert several groups of new instances (each group of one model) and set their
    primary keys, like ``insert`` once per group. On PostgreSQL that is one statement,
    one round trip, whatever the groups' sizes: each group is an ``INSERT … RETURNING``
    step of a ``WITH``, and the steps' keys come back together, in insertion order.
    No group may refer to another group's rows (the steps share one snapshot)."""
    present = [group for group in groups if group]
    db = connections[DEFAULT_DB_ALIAS]
    if len(present) < 2 or db.vendor != "postgresql":
        for group in present:
            insert(group)
        return
    plans = tuple(_insert_plan(type(group[0])) for group in present)
    if any(len(plan.returned) != 1 for plan in plans):
        raise ValueError("insert_groups returns primary keys only")
    params: list[Any] = []
    for plan, group in zip(plans, present, strict=True):
        rows = [_row(plan, obj, db) for obj in group]
        params += [list(column) for column in zip(*rows, strict=True)]
    with db.cursor() as cursor:
        cursor.execute(_groups_sql(plans), params)
        returned = cursor.fetchall()
    by_group: list[list[tuple[Any]]] = [[] for _ in present]
    for index, pk in returned:
        by_group[index].append((pk,))
    for plan, group, keys in zip(plans, present, by_group, strict=True):
        _saved(plan, group, keys, db)
