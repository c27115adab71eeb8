from datetime import datetime

import numpy as np
from django.db import connection

from .models import MarketSeries, OHLCVBar


def series_for(symbol: str, timeframe: str) -> MarketSeries | None:
    return MarketSeries.objects.filter(symbol=symbol, timeframe=timeframe).first()


def load_bars(series: MarketSeries, start: datetime | None = None, end: datetime | None = None) -> dict[str, np.ndarray]:
    """Bars as numpy arrays (time in epoch milliseconds), oldest first, straight from the cursor."""
    table = OHLCVBar._meta.db_table
    sql = (
        f"SELECT (extract(epoch from time) * 1000)::int8, open, high, low, close, volume FROM {table} "  # noqa: S608
        "WHERE series_id = %s"
    )
    params: list = [series.pk]
    if start is not None:
        sql += " AND time >= %s"
        params.append(start)
    if end is not None:
        sql += " AND time <= %s"
        params.append(end)
    sql += " ORDER BY time"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    data = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return {
        "time": data[:, 0].astype(np.int64),
        "open": data[:, 1],
        "high": data[:, 2],
        "low": data[:, 3],
        "close": data[:, 4],
        "volume": data[:, 5],
    }


def coverage() -> list[dict]:
    table = OHLCVBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.symbol, s.timeframe, count(b.time), min(b.time), max(b.time) "  # noqa: S608
            f"FROM {MarketSeries._meta.db_table} s LEFT JOIN {table} b ON b.series_id = s.id "
            "GROUP BY s.id ORDER BY s.symbol, s.timeframe"
        )
        return [
            {"series_id": r[0], "symbol": r[1], "timeframe": r[2], "bars": r[3], "first": r[4], "last": r[5]}
            for r in cursor.fetchall()
        ]
