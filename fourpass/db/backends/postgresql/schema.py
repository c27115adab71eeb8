from django.db.backends.postgresql.schema import DatabaseSchemaEditor as PostgresSchemaEditor
from timescale.db.backends.postgresql.schema import TimescaleSchemaEditor
from timescale.db.models.fields import TimescaleDateTimeField


def hypertable_sql(table: str, column: str, chunk_interval: str) -> str:
    """The statement that turns an existing table into a hypertable, keeping its rows and primary key."""
    return (
        f"SELECT create_hypertable('{table}', '{column}', "
        f"chunk_time_interval => interval '{chunk_interval}', "
        "migrate_data => true, if_not_exists => true)"
    )


class DatabaseSchemaEditor(TimescaleSchemaEditor):
    """django-timescaledb's editor, made safe for plain PostgreSQL and for composite primary keys.

    The upstream editor drops the table's primary key before `create_hypertable` (a hypertable's unique
    indexes must contain the partition column). Our market-data tables use a composite key that already
    contains the time column, so the key is kept: it is what makes bar upserts idempotent.
    """

    def _timescale_enabled(self) -> bool:
        return bool(getattr(self.connection, "timescale_available", False))

    def _create_hypertable(self, model, field, should_migrate=False):
        if not self._timescale_enabled():
            return
        self.execute(hypertable_sql(model._meta.db_table, field.column, field.interval))

    def _set_chunk_time_interval(self, model, field):
        if self._timescale_enabled():
            super()._set_chunk_time_interval(model, field)

    def alter_field(self, model, old_field, new_field, strict=False):
        timescale_old = isinstance(old_field, TimescaleDateTimeField)
        timescale_new = isinstance(new_field, TimescaleDateTimeField)
        if not self._timescale_enabled() and (timescale_old or timescale_new):
            return PostgresSchemaEditor.alter_field(self, model, old_field, new_field, strict)
        return super().alter_field(model, old_field, new_field, strict)
