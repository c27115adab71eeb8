"""The hot paths' statements are prepared on the server, once per connection."""

import pytest
from django.db import connection

from fourpass.sql import prepared_cursor

pytestmark = pytest.mark.django_db


def test_a_statement_run_with_prepare_is_prepared_on_the_server():
    marker = "SELECT 1 AS prepared_statement_probe"
    with prepared_cursor() as cursor:
        cursor.execute(marker, prepare=True)
        cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = %s", [marker])
        assert cursor.fetchone()[0] == 1
