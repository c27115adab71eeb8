"""PostgreSQL backend that is both django-tenants' (schema per tenant) and django-timescaledb's (hypertables).

Both packages ship their own DatabaseWrapper. django-tenants' wrapper owns connections and the search path,
so it is the base class here; the schema editor comes from django-timescaledb, adapted so that a missing
`timescaledb` extension (plain PostgreSQL, as on developer machines and CI) never fails a migration.
"""

import logging

from django.db import DatabaseError
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

from .schema import DatabaseSchemaEditor

logger = logging.getLogger(__name__)


class DatabaseWrapper(TenantDatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor

    _timescale_available: bool | None = None

    @property
    def timescale_available(self) -> bool:
        """Whether this server can run TimescaleDB (the extension is installed or installable)."""
        if self._timescale_available is None:
            with self.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
                self._timescale_available = cursor.fetchone() is not None
        return self._timescale_available

    def prepare_database(self) -> None:
        super().prepare_database()
        if not self.timescale_available:
            return
        try:
            with self.cursor() as cursor:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except DatabaseError:
            # Not fatal: tables stay plain PostgreSQL tables, only slower for very large histories.
            logger.warning("timescaledb is available but could not be enabled", exc_info=True)
            self._timescale_available = False
