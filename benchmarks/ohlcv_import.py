"""OHLCV store speed: import of a synthetic 1,000,000-row 1-minute CSV, and one year of 1m bars resampled to 1h.

Runs against its own throw-away PostgreSQL database (created and dropped here), so figures are not
skewed by other data. Prints:
  * CSV parse + validate rows/s, database write (binary COPY) rows/s, whole import rows/s (goal >= 200k rows/s)
  * re-import of the same file (staging table + INSERT ... ON CONFLICT) rows/s
  * resample of one year of 1m bars (525,600) to 1h in SQL (date_bin), seconds

    .venv/bin/python benchmarks/ohlcv_import.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(42)
    start = np.datetime64("2022-01-01T00:00:00")
    times = (start + np.arange(rows).astype("timedelta64[m]")).astype(str)
    close = 30_000 + np.cumsum(rng.normal(0, 5, rows))
    open_ = np.concatenate([[30_000.0], close[:-1]])
    high = np.maximum(open_, close) + rng.uniform(0, 3, rows)
    low = np.minimum(open_, close) - rng.uniform(0, 3, rows)
    volume = rng.uniform(0, 10, rows)
    with path.open("w") as handle:
        handle.write("time,open,high,low,close,volume\n")
        lines = [
            f"{t}Z,{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{v:.4f}\n"
            for t, o, h, lo, c, v in zip(times, open_, high, low, close, volume, strict=True)
        ]
        handle.writelines(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    import psycopg

    dbname = f"fourpass_bench_import_{os.getpid()}"
    base = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = f"{base}/{dbname}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
    try:
        run(args.rows)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def run(rows: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", "--shared", "--executor=standard", verbosity=0)
    from backtests.marketdata import imports
    from backtests.marketdata.importers import read_ohlcv_csv
    from backtests.marketdata.selectors import load_resampled, timescale_available
    from backtests.marketdata.services import get_or_create_series, upsert_arrays

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.csv"
        started = time.perf_counter()
        synthetic_csv(path, rows)
        print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        parsed = read_ohlcv_csv(path)
        parse_s = time.perf_counter() - started
        series = get_or_create_series("BENCH:WRITE", "1")
        started = time.perf_counter()
        upsert_arrays(series, parsed.bars, validate=False)
        write_s = time.perf_counter() - started
        print(f"parse + validate: {parse_s:.2f} s = {rows / parse_s:,.0f} rows/s")
        print(f"database write (binary COPY straight into the table): {write_s:.2f} s = {rows / write_s:,.0f} rows/s")

        with path.open("rb") as handle:
            result = imports.import_csv(handle, symbol="BENCH:BTCUSD", timeframe="1")
        print(f"whole import (parse + validate + COPY, one transaction): {result.seconds:.2f} s = "
              f"{result.rows_per_second:,.0f} rows/s  (goal >= 200,000 rows/s)")
        with path.open("rb") as handle:
            again = imports.import_csv(handle, symbol="BENCH:BTCUSD", timeframe="1")
        print(f"re-import of the same rows (staging + ON CONFLICT upsert): {again.seconds:.2f} s = "
              f"{again.rows_per_second:,.0f} rows/s")

    from datetime import UTC, datetime

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE marketdata_ohlcvbar")
    start, end = datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 12, 31, 23, 59, tzinfo=UTC)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        hourly = load_resampled(result.series, "60", start, end)
        timings.append(time.perf_counter() - started)
    print(f"one year of 1m bars (525,600) -> {len(hourly['time']):,} 1h bars: best {min(timings):.3f} s, "
          f"first {timings[0]:.3f} s  (TimescaleDB continuous aggregates: {'yes' if timescale_available() else 'not installed'})")
    started = time.perf_counter()
    daily = load_resampled(result.series, "1D", start, end)
    print(f"same year -> {len(daily['time'])} daily bars: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
