"""Hot-path SQL on Django's connection: statements the server prepares once per connection.

Django's cursors bind parameters client-side, so the server parses and plans the whole text on every call, and the
ORM compiles the query in Python first (about 1 ms of CPU per query on this machine, more than PostgreSQL spends
answering it). The few statements run for every alert and every order use these instead. Table names are always
schema-qualified: a prepared plan must not depend on the search_path of the moment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Model

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
PUBLIC_SCHEMA = settings.PUBLIC_SCHEMA_NAME


def is_schema_name(name: str) -> bool:
    """A plain lower-case identifier (what tenant schema names are): safe to put in SQL text in quotes."""
    return bool(_SCHEMA_NAME.fullmatch(name))


def table(schema: str, model: type[Model]) -> str:
    """Schema-qualified table name. `schema` must be a plain identifier (tenant schema names are)."""
    if not is_schema_name(schema):
        raise ValueError(f"not a schema name: {schema!r}")
    return f'"{schema}"."{model._meta.db_table}"'


def prepared_cursor() -> psycopg.Cursor:
    """A cursor on Django's connection (so inside its transactions) that binds parameters server-side; with
    ``execute(..., prepare=True)`` a statement is parsed and planned once per connection (the connections'
    ``prepare_threshold`` option, from the DB_PREPARE_THRESHOLD environment variable; unset, nothing is
    prepared)."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _columns(model: type[Model]) -> list:
    return list(model._meta.concrete_fields)


def fetch_models(model: type[Model], schema: str, where: str, params: list | dict, *,
                 expressions: dict[str, str] | None = None) -> list[Model]:
    """Instances of `model` from a prepared ``SELECT <every column> ... WHERE <where>`` (the `where` text is
    ours, values are parameters), decoded as the ORM would (jsonb arrives as text on Django's connection).
    `expressions` reads some fields through SQL of ours instead of as stored (e.g. a slimmer JSON)."""
    fields = _columns(model)
    expressions = expressions or {}
    columns = ", ".join(expressions.get(field.attname, f'"{field.column}"') for field in fields)
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table(schema, model)} WHERE {where}", params,  # noqa: S608
                       prepare=True)
        rows = cursor.fetchall()
    return [model_from_row(model, row) for row in rows]


def model_from_row(model: type[Model], values: Sequence, fields: Sequence | None = None) -> Model:
    """An instance of `model` from columns read by a prepared statement: its concrete fields in order, or `fields`
    (the others left deferred), decoded as the ORM would (jsonb arrives as text on Django's connection)."""
    fields = _columns(model) if fields is None else fields
    decoded = [field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
               for field, value in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [field.attname for field in fields], decoded)


def insert_models(instances: list[Model], schema: str) -> None:
    """INSERT the instances (all of one model) with one prepared statement and set their primary keys. Values go
    through each field's ``get_db_prep_save``, as with ``bulk_create``; ``pre_save`` hooks (auto_now) are not
    run, so the caller sets such fields."""
    if not instances:
        return
    model = type(instances[0])
    fields = [field for field in _columns(model) if not field.primary_key]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    params = [field.get_db_prep_save(getattr(instance, field.attname), connection)
              for instance in instances for field in fields]
    with prepared_cursor() as cursor:
        cursor.execute(f"INSERT INTO {table(schema, model)} ({columns}) "  # noqa: S608 (identifiers from Django)
                       f"VALUES {', '.join([row] * len(instances))} RETURNING {model._meta.pk.column}", params,
                       prepare=True)
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
            instance._state.adding = False


@cache
def _update_sql(schema: str, model: type[Model], fields: tuple[str, ...]) -> str:
    meta = model._meta
    assignments = ", ".join(f'"{meta.get_field(name).column}" = %s' for name in fields)
    return f"UPDATE {table(schema, model)} SET {assignments} WHERE {meta.pk.column} = %s"  # noqa: S608


def update_model(instance: Model, schema: str, fields: Sequence[str]) -> None:
    """``instance.save(update_fields=fields)`` as one prepared statement, without the ORM's query building. Values
    go through each field's ``get_db_prep_save``; ``pre_save`` hooks (auto_now) are not run: the caller sets them."""
    model = type(instance)
    get_field = model._meta.get_field
    params = [get_field(name).get_db_prep_save(getattr(instance, get_field(name).attname), connection)
              for name in fields]
    params.append(instance.pk)
    with prepared_cursor() as cursor:
        cursor.execute(_update_sql(schema, model, tuple(fields)), params, prepare=True)
