"""Reading OHLCV files (CSV) into validated columnar bars; errors name the file's line number."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .services import BadBarsError, BarArrays, first_bad_bar

_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
TIME_ALIASES = ("time", "timestamp", "datetime", "date", "date/time", "date and time", "open time", "open_time")
COLUMN_ALIASES = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "adj close"),
    "volume": ("volume", "vol", "v"),
}


class BadFileError(BadBarsError):
    """The file was rejected; `row` is the 1-based line number in the file (the header is line 1)."""

    def __init__(self, line: int, message: str):
        super().__init__(line, message, label="line")


@dataclass
class ParsedFile:
    bars: BarArrays
    columns: dict[str, str]  # our column -> the file's header


def _find_columns(header: list[str]) -> dict[str, str]:
    lowered = {name.strip().lower(): name for name in header}
    found: dict[str, str] = {}
    for alias in TIME_ALIASES:
        if alias in lowered:
            found["time"] = lowered[alias]
            break
    for column, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                found[column] = lowered[alias]
                break
    missing = [c for c in ("time", "open", "high", "low", "close") if c not in found]
    if missing:
        raise BadFileError(1, f"missing column(s): {', '.join(missing)} (header has: {', '.join(header)})")
    return found


def _numeric(frame: pd.DataFrame, header: str, column: str) -> np.ndarray:
    raw = frame[header]
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64)
    else:
        text = raw.astype("string").str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.isnan(values) & text.notna().to_numpy() & (text != "").to_numpy(dtype=bool, na_value=False))
        if bad.size:
            row = int(bad[0])
            raise BadFileError(row + 2, f"{column} '{raw.iloc[row]}' is not a number")
    return values


def _unparsable(value) -> bool:
    return pd.isna(pd.to_datetime(str(value), errors="coerce", format="mixed"))


def _times_ms(raw: pd.Series, timezone: str) -> np.ndarray:
    """Epoch milliseconds from epoch seconds/ms numbers or date strings (naive strings are in `timezone`)."""
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise BadFileError(int(bad[0]) + 2, "time is missing")
        scale = 1.0 if np.nanmax(np.abs(values)) > 1e11 else 1000.0  # seconds before ~5138 AD otherwise ms
        return np.round(values * scale).astype(np.int64)
    text = raw.astype("string").str.strip()
    present = text.notna() & (text != "")
    missing = np.flatnonzero(~present.to_numpy(dtype=bool, na_value=False))
    if missing.size:
        raise BadFileError(int(missing[0]) + 2, "time is missing")
    with_offset = bool(_OFFSET.search(str(text.iloc[0])))
    try:
        # one offset for the whole file (e.g. "Z"): pandas parses it in one pass
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except ValueError:
        # several offsets (daylight saving) or rows with and without one
        if _unparsable(raw.iloc[0]):
            raise BadFileError(2, f"time '{raw.iloc[0]}' is not a date/time") from None
        has_offset = text.str.contains(_OFFSET.pattern, regex=True).to_numpy(dtype=bool, na_value=False)
        if not (has_offset == has_offset[0]).all():
            row = int(np.flatnonzero(has_offset != has_offset[0])[0])
            value = raw.iloc[row]
            if _unparsable(value):
                raise BadFileError(row + 2, f"time '{value}' is not a date/time") from None
            raise BadFileError(row + 2, f"time '{value}' mixes times with and without a UTC offset") from None
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    failed = parsed.isna().to_numpy()
    if failed.any():
        retry = pd.to_datetime(text[failed], errors="coerce", format="mixed", utc=with_offset)
        if not retry.isna().all():
            parsed = parsed.copy()
            parsed[failed] = retry if with_offset else retry.to_numpy()
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise BadFileError(row + 2, f"time '{raw.iloc[row]}' is not a date/time")
    if not with_offset:
        try:
            parsed = parsed.dt.tz_localize(timezone, ambiguous="raise", nonexistent="raise")
        except Exception as error:
            raise BadFileError(1, f"times are not valid in time zone {timezone}: {error}") from error
    return parsed.dt.tz_convert("UTC").dt.as_unit("ms").astype("int64").to_numpy(dtype=np.int64)


def read_ohlcv_csv(source: str | Path | IO, timezone: str = "Etc/UTC") -> ParsedFile:
    """Parse and validate a CSV of bars. Raises BadFileError naming the FIRST bad line of the file."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        frame = pd.read_csv(source, skip_blank_lines=False, skipinitialspace=True, low_memory=False)
    except pd.errors.EmptyDataError as error:
        raise BadFileError(1, "the file is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadFileError(1, f"not a readable CSV file: {error}") from error
    columns = _find_columns([str(c) for c in frame.columns])
    if frame.empty:
        raise BadFileError(2, "the file has a header but no bars")
    times = _times_ms(frame[columns["time"]], timezone)
    values = {c: _numeric(frame, columns[c], c) for c in ("open", "high", "low", "close")}
    volume = _numeric(frame, columns["volume"], "volume") if "volume" in columns else np.zeros(len(frame))
    bars = BarArrays(time=times, volume=volume, **values)
    bad = first_bad_bar(bars)
    if bad is not None:
        raise BadFileError(bad[0] + 2, bad[1])
    return ParsedFile(bars=bars, columns=columns)
