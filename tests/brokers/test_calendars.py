import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from brokers.core.calendars import is_open, next_open, session_for, sessions_on, taifex_settlement_day
from brokers.core.symbols import parse_tradingview

TPE = ZoneInfo("Asia/Taipei")
NY = ZoneInfo("America/New_York")


def tpe(*args):
    return dt.datetime(*args, tzinfo=TPE)


def ny(*args):
    return dt.datetime(*args, tzinfo=NY)


def test_twse_open_during_session():
    assert is_open("TWSE", tpe(2026, 11, 27, 10, 0))
    assert not is_open("TWSE", tpe(2026, 11, 27, 13, 31))


def test_twse_closed_on_national_day_holiday_and_next_open_is_after_it():
    assert not is_open("TPEX", tpe(2026, 10, 9, 10, 0))  # National Day observed (10/10 is a Saturday)
    assert next_open("TWSE", tpe(2026, 10, 8, 14, 0)) == tpe(2026, 10, 12, 9, 0)


def test_nyse_closed_on_thanksgiving():
    assert not is_open("NYSE", ny(2026, 11, 26, 11, 0))


def test_nyse_half_day_after_thanksgiving_closes_at_13():
    assert is_open("NYSE", ny(2026, 11, 27, 12, 59))
    assert not is_open("NYSE", ny(2026, 11, 27, 13, 0))
    assert is_open("NASDAQ", ny(2026, 11, 27, 16, 30), "extended")  # post-market until 17:00
    assert not is_open("NASDAQ", ny(2026, 11, 27, 17, 30), "extended")


def test_us_extended_hours_start_at_4am():
    assert not is_open("NASDAQ", ny(2026, 11, 24, 7, 0))
    assert is_open("NASDAQ", ny(2026, 11, 24, 7, 0), "extended")
    assert not is_open("NASDAQ", ny(2026, 11, 24, 3, 59), "extended")


def test_us_next_open_from_friday_evening_is_monday():
    assert next_open("NYSE", ny(2026, 11, 20, 18, 0)) == ny(2026, 11, 23, 9, 30)


def test_taifex_night_session_crosses_midnight():
    friday_night = tpe(2026, 11, 27, 23, 0)
    saturday_early = tpe(2026, 11, 28, 2, 0)
    assert is_open("TAIFEX", friday_night, "night")
    assert is_open("TAIFEX", saturday_early, "night")
    assert session_for("TAIFEX", saturday_early).open == tpe(2026, 11, 27, 15, 0)
    assert not is_open("TAIFEX", saturday_early)  # regular only
    assert not is_open("TAIFEX", tpe(2026, 11, 28, 5, 0), "night")


def test_taifex_non_index_night_session_opens_at_1725():
    assert not is_open("TAIFEX:CDF", tpe(2026, 11, 27, 16, 0), "night")
    assert is_open("TAIFEX:CDF", tpe(2026, 11, 27, 17, 30), "night")


def test_taifex_index_futures_close_early_on_settlement_day():
    settlement = taifex_settlement_day(2026, 11)
    assert settlement == dt.date(2026, 11, 18)
    txf = parse_tradingview("TAIFEX:TXF1!")
    assert not is_open(txf, tpe(2026, 11, 18, 13, 40))
    assert is_open(txf, tpe(2026, 11, 19, 13, 40))


def test_crypto_is_always_open():
    assert is_open("BINANCE", dt.datetime(2026, 12, 25, 3, 0, tzinfo=dt.UTC))


def test_forex_closed_on_saturday():
    assert not is_open("OANDA", ny(2026, 11, 28, 12, 0))
    assert next_open("OANDA", ny(2026, 11, 28, 12, 0)) == ny(2026, 11, 29, 17, 0)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open("TWSE", dt.datetime(2026, 11, 27, 10, 0))


def test_no_session_on_weekend():
    assert sessions_on("TWSE", dt.date(2026, 11, 28)) == []
