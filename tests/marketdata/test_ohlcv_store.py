from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from backtests.marketdata.models import OHLCVBar
from backtests.marketdata.selectors import load_bars
from backtests.marketdata.services import BadBarsError, Bar, get_or_create_series, upsert_bars
from fourpass.db.backends.postgresql.schema import hypertable_sql

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def bars(n: int, start: float = 100.0) -> list[Bar]:
    return [Bar(T0 + timedelta(hours=i), start + i, start + i + 1, start + i - 1, start + i + 0.5, 10 + i) for i in range(n)]


def test_upserting_the_same_bars_twice_keeps_one_row_per_bar():
    series = get_or_create_series("TEST:ABC", "60")
    upsert_bars(series, bars(5))
    upsert_bars(series, bars(5, start=200.0))
    assert OHLCVBar.objects.filter(series=series).count() == 5
    assert load_bars(series)["open"].tolist() == [200.0, 201.0, 202.0, 203.0, 204.0]


def test_loaded_bars_come_back_oldest_first_with_epoch_ms_times():
    series = get_or_create_series("TEST:ABC", "60")
    upsert_bars(series, list(reversed(bars(3)))[::-1])
    loaded = load_bars(series)
    assert loaded["time"].tolist() == [int((T0 + timedelta(hours=i)).timestamp() * 1000) for i in range(3)]


def test_a_bar_with_high_below_low_is_rejected_naming_the_row_and_nothing_is_written():
    series = get_or_create_series("TEST:BAD", "60")
    data = bars(4)
    data[2] = Bar(data[2].time, 100, 99, 101, 100, 1)
    with pytest.raises(BadBarsError, match="row 3: high 99 is below low 101"):
        upsert_bars(series, data)
    assert not OHLCVBar.objects.filter(series=series).exists()


def test_unsorted_duplicate_and_negative_bars_are_rejected():
    series = get_or_create_series("TEST:BAD", "60")
    data = bars(3)
    with pytest.raises(BadBarsError, match="row 2: bars are not sorted"):
        upsert_bars(series, [data[1], data[0]])
    with pytest.raises(BadBarsError, match="row 2: duplicate bar"):
        upsert_bars(series, [data[0], data[0]])
    with pytest.raises(BadBarsError, match="row 1: negative price"):
        upsert_bars(series, [Bar(T0, -1, 1, -2, 0, 1)])


def test_on_plain_postgresql_the_ohlcv_table_is_an_ordinary_table_with_its_composite_key():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'public.marketdata_ohlcvbar'::regclass AND i.indisprimary ORDER BY a.attname"
        )
        assert [r[0] for r in cursor.fetchall()] == ["series_id", "time"]
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        assert cursor.fetchone()[0] == (1 if connection.timescale_available else 0)


def test_with_timescaledb_present_the_migration_issues_create_hypertable(monkeypatch):
    monkeypatch.setattr(connections["default"], "_timescale_available", True)
    with connection.schema_editor(collect_sql=True) as editor:
        editor.create_model(OHLCVBar)
    statements = [s for s in editor.collected_sql if "create_hypertable" in s]
    assert statements == [hypertable_sql("marketdata_ohlcvbar", "time", "30 days") + ";"]
    assert statements[0] == (
        "SELECT create_hypertable('marketdata_ohlcvbar', 'time', chunk_time_interval => interval '30 days', "
        "migrate_data => true, if_not_exists => true);"
    )
    assert not any("DROP CONSTRAINT" in s for s in editor.collected_sql)


def test_without_timescaledb_no_hypertable_sql_is_issued(monkeypatch):
    monkeypatch.setattr(connections["default"], "_timescale_available", False)
    with connection.schema_editor(collect_sql=True) as editor:
        editor.create_model(OHLCVBar)
    assert not any("hypertable" in s for s in editor.collected_sql)


def test_deleting_a_series_deletes_its_bars():
    series = get_or_create_series("TEST:GONE", "60")
    upsert_bars(series, bars(3))
    series.delete()
    assert not OHLCVBar.objects.filter(series_id=series.pk).exists()
