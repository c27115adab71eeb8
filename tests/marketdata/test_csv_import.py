"""CSV import: every bad-file case is rejected naming the file's first bad line; nothing partial is written."""

import io

import pytest
from django.core.management import CommandError, call_command

from backtests.marketdata import imports
from backtests.marketdata.importers import BadFileError, read_ohlcv_csv
from backtests.marketdata.models import MarketSeries, OHLCVBar
from backtests.marketdata.selectors import load_bars

pytestmark = pytest.mark.django_db

HEADER = "time,open,high,low,close,volume\n"
GOOD = [
    "2024-01-01T00:00:00Z,10,11,9,10.5,100",
    "2024-01-01T01:00:00Z,10.5,12,10,11,120",
    "2024-01-01T02:00:00Z,11,11.5,10.5,11.2,90",
    "2024-01-01T03:00:00Z,11.2,11.4,10.9,11,80",
]


def csv_bytes(rows: list[str], header: str = HEADER) -> bytes:
    return (header + "\n".join(rows) + "\n").encode()


def with_row(index: int, row: str) -> list[str]:
    rows = list(GOOD)
    rows[index] = row
    return rows


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        (with_row(2, "2024-01-01T00:30:00Z,11,11.5,10.5,11.2,90"), 4, "not sorted"),
        (with_row(2, "2024-01-01T01:00:00Z,11,11.5,10.5,11.2,90"), 4, "duplicate bar"),
        (with_row(1, "2024-01-01T01:00:00Z,-10.5,12,-11,11,120"), 3, "negative price"),
        (with_row(3, "2024-01-01T03:00:00Z,11.2,10.8,10.9,11,80"), 5, "high 10.8 is below low 10.9"),
        (with_row(2, "2024-01-01T02:00:00Z,11,abc,10.5,11.2,90"), 4, "high 'abc' is not a number"),
        (with_row(1, "yesterday-ish,10.5,12,10,11,120"), 3, "time 'yesterday-ish' is not a date/time"),
        (with_row(2, "2024-01-01T02:00:00Z,11,,10.5,11.2,90"), 4, "missing or non-numeric"),
        (with_row(3, "2024-01-01T03:00:00Z,13,11.4,10.9,11,80"), 5, "open and close must lie between low and high"),
        (with_row(2, "2024-01-01T02:00:00Z,11,11.5,10.5,11.2,-5"), 4, "negative price or volume"),
    ],
    ids=["unsorted", "duplicate", "negative", "high-below-low", "bad-number", "bad-time", "empty-cell", "open-outside", "negative-volume"],
)
def test_a_bad_row_is_rejected_naming_its_line_and_nothing_is_written(rows, line, message):
    with pytest.raises(BadFileError) as raised:
        imports.import_csv(io.BytesIO(csv_bytes(rows)), symbol="TEST:BAD", timeframe="60")
    assert raised.value.row == line
    assert f"line {line}:" in str(raised.value) and message in str(raised.value)
    assert not OHLCVBar.objects.filter(series__symbol="TEST:BAD").exists()


def test_the_first_bad_line_is_reported_when_several_rows_are_bad():
    rows = with_row(1, "2024-01-01T01:00:00Z,10.5,9,10,11,120")  # line 3: high < low
    rows[3] = "2024-01-01T02:00:00Z,11.2,11.4,10.9,11,80"  # line 5: duplicate of line 4
    with pytest.raises(BadFileError, match="line 3: high 9 is below low 10"):
        read_ohlcv_csv(io.BytesIO(csv_bytes(rows)))


def test_missing_columns_are_named():
    with pytest.raises(BadFileError, match="line 1: missing column\\(s\\): high, low"):
        read_ohlcv_csv(io.BytesIO(csv_bytes(["2024-01-01,1,1,1"], header="time,open,close,volume\n")))


def test_an_empty_file_and_a_header_only_file_are_rejected():
    with pytest.raises(BadFileError, match="line 1: the file is empty"):
        read_ohlcv_csv(io.BytesIO(b""))
    with pytest.raises(BadFileError, match="line 2: the file has a header but no bars"):
        read_ohlcv_csv(io.BytesIO(HEADER.encode()))


def test_a_blank_line_in_the_middle_counts_as_a_bad_line():
    rows = [*GOOD[:2], "", *GOOD[2:]]
    with pytest.raises(BadFileError, match="line 4: time is missing"):
        read_ohlcv_csv(io.BytesIO(csv_bytes(rows)))


def test_a_failed_import_leaves_existing_bars_untouched():
    imports.import_csv(io.BytesIO(csv_bytes(GOOD)), symbol="TEST:KEEP", timeframe="60")
    bad = [row.replace(",10.5,", ",99,") for row in GOOD]
    bad[3] = "2024-01-01T03:00:00Z,11.2,1,10.9,11,80"
    with pytest.raises(BadFileError):
        imports.import_csv(io.BytesIO(csv_bytes(bad)), symbol="TEST:KEEP", timeframe="60")
    series = MarketSeries.objects.get(symbol="TEST:KEEP")
    assert load_bars(series)["open"].tolist() == [10.0, 10.5, 11.0, 11.2]


def test_naive_times_are_read_in_the_given_exchange_time_zone_and_epoch_seconds_are_accepted():
    naive = ["2024-07-01 09:30:00,1,2,0.5,1.5,10", "2024-07-01 09:31:00,1.5,2,1,1.2,5"]
    imports.import_csv(io.BytesIO(csv_bytes(naive)), symbol="NASDAQ:T", timeframe="1", timezone="America/New_York")
    series = MarketSeries.objects.get(symbol="NASDAQ:T")
    assert series.timezone == "America/New_York"
    assert load_bars(series)["time"][0] == 1719840600000  # 13:30 UTC
    epoch = ["1719840600,1,2,0.5,1.5,10", "1719840660,1.5,2,1,1.2,5"]
    parsed = read_ohlcv_csv(io.BytesIO(csv_bytes(epoch)))
    assert parsed.bars.time.tolist() == [1719840600000, 1719840660000]


def test_reimporting_overlapping_bars_updates_them_without_duplicates():
    imports.import_csv(io.BytesIO(csv_bytes(GOOD[:3])), symbol="TEST:UP", timeframe="60")
    changed = [GOOD[2].replace("11.2,90", "11.3,95"), GOOD[3]]
    imports.import_csv(io.BytesIO(csv_bytes(changed)), symbol="TEST:UP", timeframe="60")
    bars = load_bars(MarketSeries.objects.get(symbol="TEST:UP"))
    assert bars["close"].tolist() == [10.5, 11.0, 11.3, 11.0]
    assert bars["volume"].tolist() == [100, 120, 95, 80]


def test_the_import_command_imports_a_file_and_reports_bad_lines(tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(GOOD))
    out = io.StringIO()
    call_command("import_ohlcv", str(good), "--symbol", "TEST:CMD", "--timeframe", "1h", "--mintick", "0.5", stdout=out)
    assert "4 bars imported into TEST:CMD 60 (4 new or changed" in out.getvalue()
    assert MarketSeries.objects.get(symbol="TEST:CMD").mintick == 0.5
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(with_row(2, "2024-01-01T02:00:00Z,11,11.5,10.5,x,90")))
    with pytest.raises(CommandError, match="line 4: close 'x' is not a number — nothing was imported"):
        call_command("import_ohlcv", str(bad), "--symbol", "TEST:CMD2", "--timeframe", "60")
    assert not MarketSeries.objects.filter(symbol="TEST:CMD2", bars__isnull=False).exists()


def test_the_reference_tradingview_bars_import_with_their_dst_offsets():
    with open("/work/shared/tv-reference/strategies/ohlcv.csv", "rb") as handle:
        result = imports.import_csv(handle, symbol="FX:EURUSD", timeframe="60", timezone="America/New_York")
    assert result.rows == 23054
    assert result.first.isoformat() == "2022-01-02T22:00:00+00:00"


def test_reimporting_identical_bars_rewrites_nothing():
    imports.import_csv(io.BytesIO(csv_bytes(GOOD)), symbol="TEST:SAME", timeframe="60")
    again = imports.import_csv(io.BytesIO(csv_bytes(GOOD)), symbol="TEST:SAME", timeframe="60")
    assert (again.rows, again.written) == (4, 0)
    changed = imports.import_csv(io.BytesIO(csv_bytes(with_row(1, GOOD[1].replace(",120", ",121")))), symbol="TEST:SAME", timeframe="60")
    assert (changed.rows, changed.written) == (4, 1)
