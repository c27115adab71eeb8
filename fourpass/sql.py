"""Hot-path SQL on Django's connection: statements the server prepares once per connection.

Django's cursors bind parameters client-side, so the server parses and plans the whole text on every call, and the
ORM compiles the query in Python first (about 1 ms of CPU per query on this machine, more than PostgreSQL spends
answering it). The few statements run for every alert and every order use these instead. Table names are always
schema-qualified: a prepared plan must not depend on the search_path of the moment.
"""

from __future__ import annotations

import re

import psycopg
from django.db import connection
from django.db.models import Model

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
PUBLIC_SCHEMA = "public"


def table(schema: str, model: type[Model]) -> str:
    """Schema-qualified table name. `schema` must be a plain identifier (tenant schema names are)."""
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"not a schema name: {schema!r}")
    return f'"{schema}"."{model._meta.db_table}"'


def tenant_table(model: type[Model]) -> str:
    """The model's table in the schema the connection is set to (django-tenants)."""
    return table(connection.schema_name, model)


def prepared_cursor() -> psycopg.Cursor:
    """A cursor on Django's connection (so inside its transactions) that binds parameters server-side; with
    ``execute(..., prepare=True)`` a statement is parsed and planned once per connection."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)
