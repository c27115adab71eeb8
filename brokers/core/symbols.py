"""One internal symbol model and mappers between TradingView tickers, ccxt symbols and broker codes.

``NormalizedSymbol`` is what the rest of 4pass passes around. Mappers are strict: anything that cannot
be resolved unambiguously raises ``SymbolError`` with the reason, never a guess.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from brokers.core.errors import SymbolError


class MarketType(StrEnum):
    SPOT = "spot"
    PERP = "perp"
    FUTURE = "future"
    STOCK = "stock"
    FOREX = "forex"


CRYPTO_VENUES = {"BINANCE", "GATEIO", "BYBIT", "OKX"}
TW_STOCK_VENUES = {"TWSE", "TPEX"}
US_STOCK_VENUES = {"NASDAQ", "NYSE", "AMEX", "ARCA", "BATS"}
FOREX_VENUES = {"OANDA", "FX", "FX_IDC", "FOREXCOM"}
TW_FUTURES_VENUES = {"TAIFEX"}

# Longest match first, so "BTCUSDT" resolves to USDT and not USD.
CRYPTO_QUOTES = (
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "DAI", "USD", "EUR", "TRY", "BRL",
    "BTC", "ETH", "BNB", "JPY",
)  # fmt: skip
FOREX_CURRENCIES = {
    "USD", "EUR", "JPY", "GBP", "AUD", "NZD", "CAD", "CHF", "CNH", "HKD", "SGD", "SEK", "NOK",
    "DKK", "MXN", "ZAR", "TRY", "PLN", "XAU", "XAG",
}  # fmt: skip

# ccxt exchange ids per TradingView venue.
CCXT_IDS = {"BINANCE": "binance", "GATEIO": "gate", "BYBIT": "bybit", "OKX": "okx"}
VENUE_BY_CCXT_ID = {v: k for k, v in CCXT_IDS.items()} | {"gateio": "GATEIO", "binanceusdm": "BINANCE"}

# CME month codes (TradingView's explicit-expiry futures: TXFZ2025) and Shioaji's A..L month letters.
CME_MONTHS = "FGHJKMNQUVXZ"
SHIOAJI_MONTHS = "ABCDEFGHIJKL"


@dataclass(frozen=True, slots=True)
class NormalizedSymbol:
    venue: str  # TradingView-style exchange prefix: BINANCE, GATEIO, TWSE, TAIFEX, NASDAQ, OANDA...
    base: str
    quote: str
    market_type: MarketType
    settle: str = ""  # settlement currency of derivatives (USDT for linear perps)
    expiry: dt.date | None = None  # explicit contract month (first day of the month) for dated futures
    continuous: int | None = None  # 1 = front month, 2 = next... for continuous futures
    raw: str = ""  # what the user/broker originally gave us

    def __post_init__(self) -> None:
        if self.expiry is not None and self.continuous is not None:
            raise SymbolError("a futures symbol is either continuous or has an expiry, not both")

    # identity ignores `raw`, so BINANCE:BTCUSDT and BTC/USDT on binance compare equal
    def key(self) -> tuple:
        return (self.venue, self.base, self.quote, self.market_type, self.settle, self.expiry, self.continuous)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NormalizedSymbol) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __str__(self) -> str:
        return to_tradingview(self)

    @property
    def is_crypto(self) -> bool:
        return self.venue in CRYPTO_VENUES

    @property
    def is_derivative(self) -> bool:
        return self.market_type in (MarketType.PERP, MarketType.FUTURE)


# --------------------------------------------------------------------------- TradingView


_TV_RE = re.compile(r"^(?P<venue>[A-Z0-9_]+):(?P<body>[A-Z0-9._!\-/]+)$")
_CONTINUOUS_RE = re.compile(r"^(?P<root>[A-Z]{2,4}?)(?P<n>[1-9])!$")
_DATED_RE = re.compile(r"^(?P<root>[A-Z]{2,4}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>20\d\d)$")


def split_crypto_pair(pair: str) -> tuple[str, str]:
    """``BTCUSDT`` -> ("BTC", "USDT"). Raises SymbolError when no known quote currency ends the pair."""
    for quote in CRYPTO_QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)], quote
    raise SymbolError(
        f"cannot split {pair!r} into base and quote: quote currency not recognised "
        f"(known quotes: {', '.join(CRYPTO_QUOTES)})"
    )


def parse_tradingview(ticker: str) -> NormalizedSymbol:
    """Parse a TradingView ticker (``BINANCE:BTCUSDT.P``, ``TWSE:2330``, ``TAIFEX:TXF1!``...)."""
    text = ticker.strip().upper()
    match = _TV_RE.match(text)
    if not match:
        if ":" not in text:
            raise SymbolError(
                f"ticker {ticker!r} has no exchange prefix; use the TradingView form EXCHANGE:SYMBOL "
                f"(e.g. BINANCE:{text or 'BTCUSDT'})"
            )
        raise SymbolError(f"ticker {ticker!r} is not a valid TradingView ticker")
    venue, body = match["venue"], match["body"]

    if venue in CRYPTO_VENUES:
        market_type = MarketType.SPOT
        if body.endswith(".P"):
            body, market_type = body[:-2], MarketType.PERP
        elif "." in body:
            raise SymbolError(f"ticker {ticker!r}: unsupported suffix (only .P perpetuals are supported)")
        base, quote = split_crypto_pair(body)
        settle = quote if market_type is MarketType.PERP else ""
        return NormalizedSymbol(venue, base, quote, market_type, settle=settle, raw=ticker)

    if venue in TW_STOCK_VENUES:
        if not re.fullmatch(r"\d{4,6}[A-Z]?", body):
            raise SymbolError(f"ticker {ticker!r}: Taiwan stock codes are 4-6 digits (e.g. TWSE:2330)")
        return NormalizedSymbol(venue, body, "TWD", MarketType.STOCK, raw=ticker)

    if venue in TW_FUTURES_VENUES:
        cont = _CONTINUOUS_RE.match(body)
        if cont:
            return NormalizedSymbol(
                venue, cont["root"], "TWD", MarketType.FUTURE, continuous=int(cont["n"]), raw=ticker
            )
        dated = _DATED_RE.match(body)
        if dated:
            expiry = dt.date(int(dated["year"]), CME_MONTHS.index(dated["month"]) + 1, 1)
            return NormalizedSymbol(venue, dated["root"], "TWD", MarketType.FUTURE, expiry=expiry, raw=ticker)
        raise SymbolError(
            f"ticker {ticker!r}: TAIFEX futures must be continuous (TXF1!) or dated (TXFZ2025)"
        )

    if venue in US_STOCK_VENUES:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,5}([./][A-Z])?", body):
            raise SymbolError(f"ticker {ticker!r}: not a US stock symbol")
        return NormalizedSymbol(venue, body.replace("/", "."), "USD", MarketType.STOCK, raw=ticker)

    if venue in FOREX_VENUES:
        if len(body) != 6 or body[:3] not in FOREX_CURRENCIES or body[3:] not in FOREX_CURRENCIES:
            raise SymbolError(f"ticker {ticker!r}: forex pairs are two ISO currencies, e.g. OANDA:EURUSD")
        return NormalizedSymbol(venue, body[:3], body[3:], MarketType.FOREX, raw=ticker)

    raise SymbolError(f"ticker {ticker!r}: exchange {venue!r} is not supported")


def to_tradingview(symbol: NormalizedSymbol) -> str:
    venue = symbol.venue
    if symbol.venue in CRYPTO_VENUES:
        suffix = ".P" if symbol.market_type is MarketType.PERP else ""
        return f"{venue}:{symbol.base}{symbol.quote}{suffix}"
    if symbol.market_type is MarketType.FUTURE:
        if symbol.continuous is not None:
            return f"{venue}:{symbol.base}{symbol.continuous}!"
        if symbol.expiry is not None:
            return f"{venue}:{symbol.base}{CME_MONTHS[symbol.expiry.month - 1]}{symbol.expiry.year}"
    if symbol.market_type is MarketType.FOREX:
        return f"{venue}:{symbol.base}{symbol.quote}"
    return f"{venue}:{symbol.base}"


# --------------------------------------------------------------------------- ccxt


def to_ccxt(symbol: NormalizedSymbol) -> str:
    """Unified ccxt symbol: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (linear perpetual)."""
    if symbol.venue not in CRYPTO_VENUES:
        raise SymbolError(f"{symbol} is not traded through ccxt")
    if symbol.market_type is MarketType.SPOT:
        return f"{symbol.base}/{symbol.quote}"
    if symbol.market_type is MarketType.PERP:
        return f"{symbol.base}/{symbol.quote}:{symbol.settle or symbol.quote}"
    if symbol.market_type is MarketType.FUTURE and symbol.expiry is not None:
        return f"{symbol.base}/{symbol.quote}:{symbol.settle or symbol.quote}-{symbol.expiry:%y%m%d}"
    raise SymbolError(f"{symbol} has no ccxt form")


_CCXT_RE = re.compile(r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)(?::(?P<settle>[A-Z0-9]+)(?:-(?P<exp>\d{6}))?)?$")


def from_ccxt(ccxt_symbol: str, exchange: str) -> NormalizedSymbol:
    """Parse a unified ccxt symbol for a ccxt exchange id (``binance``, ``gate``, ``bybit``, ``okx``)."""
    venue = VENUE_BY_CCXT_ID.get(exchange.lower())
    if venue is None:
        raise SymbolError(f"ccxt exchange {exchange!r} is not supported")
    match = _CCXT_RE.match(ccxt_symbol.strip().upper())
    if not match:
        raise SymbolError(f"{ccxt_symbol!r} is not a ccxt symbol (BASE/QUOTE or BASE/QUOTE:SETTLE)")
    base, quote, settle, exp = match["base"], match["quote"], match["settle"], match["exp"]
    if settle is None:
        return NormalizedSymbol(venue, base, quote, MarketType.SPOT, raw=ccxt_symbol)
    if exp is None:
        return NormalizedSymbol(venue, base, quote, MarketType.PERP, settle=settle, raw=ccxt_symbol)
    expiry = dt.datetime.strptime(exp, "%y%m%d").date()
    return NormalizedSymbol(venue, base, quote, MarketType.FUTURE, settle=settle, expiry=expiry, raw=ccxt_symbol)


# --------------------------------------------------------------------------- native broker codes


def to_native(symbol: NormalizedSymbol, broker: str) -> str:
    """Broker-native code: binance ``BTCUSDT``, gate ``BTC_USDT``, okx ``BTC-USDT-SWAP``, bybit
    ``BTCUSDT``, shioaji ``2330`` / ``TXFR1``, alpaca ``AAPL``."""
    broker = broker.lower()
    if broker in ("binance", "bybit", "binanceusdm"):
        _require_crypto(symbol, broker)
        return f"{symbol.base}{symbol.quote}"
    if broker in ("gate", "gateio"):
        _require_crypto(symbol, broker)
        return f"{symbol.base}_{symbol.quote}"
    if broker == "okx":
        _require_crypto(symbol, broker)
        suffix = "-SWAP" if symbol.market_type is MarketType.PERP else ""
        return f"{symbol.base}-{symbol.quote}{suffix}"
    if broker == "shioaji":
        if symbol.venue in TW_STOCK_VENUES:
            return symbol.base
        if symbol.venue in TW_FUTURES_VENUES:
            if symbol.continuous is not None:
                return f"{symbol.base}R{symbol.continuous}"
            if symbol.expiry is not None:
                return f"{symbol.base}{SHIOAJI_MONTHS[symbol.expiry.month - 1]}{symbol.expiry.year % 10}"
        raise SymbolError(f"{symbol} is not tradable through Shioaji (Taiwan stocks and TAIFEX futures)")
    if broker == "alpaca":
        if symbol.venue not in US_STOCK_VENUES:
            raise SymbolError(f"{symbol} is not a US stock; Alpaca trades US equities")
        return symbol.base
    raise SymbolError(f"unknown broker {broker!r}")


def _require_crypto(symbol: NormalizedSymbol, broker: str) -> None:
    if symbol.venue != VENUE_BY_CCXT_ID.get(broker, symbol.venue) or symbol.venue not in CRYPTO_VENUES:
        raise SymbolError(f"{symbol} is not listed on {broker}")


def from_native(
    code: str,
    broker: str,
    market_type: MarketType | None = None,
    *,
    venue: str | None = None,
    reference_date: dt.date | None = None,
) -> NormalizedSymbol:
    """Inverse of ``to_native``.

    Binance/Bybit codes do not say spot or perp (``BTCUSDT`` is both): ``market_type`` is required there.
    Shioaji stock codes do not say TWSE or TPEx: pass ``venue`` (the contract's exchange) or get TWSE.
    Shioaji dated futures carry only the last digit of the year; ``reference_date`` (default today)
    picks the nearest decade.
    """
    broker = broker.lower()
    code = code.strip().upper()
    if broker in ("binance", "bybit", "binanceusdm"):
        if market_type is None:
            raise SymbolError(f"{broker} code {code!r} is ambiguous: say whether it is spot or perp")
        base, quote = split_crypto_pair(code)
        settle = quote if market_type is MarketType.PERP else ""
        return NormalizedSymbol(VENUE_BY_CCXT_ID[broker], base, quote, market_type, settle=settle, raw=code)
    if broker in ("gate", "gateio"):
        if market_type is None:
            raise SymbolError(f"gate code {code!r} is ambiguous: say whether it is spot or perp")
        base, _, quote = code.partition("_")
        if not base or not quote:
            raise SymbolError(f"gate code {code!r} is not BASE_QUOTE")
        settle = quote if market_type is MarketType.PERP else ""
        return NormalizedSymbol("GATEIO", base, quote, market_type, settle=settle, raw=code)
    if broker == "okx":
        parts = code.split("-")
        if len(parts) == 2:
            return NormalizedSymbol("OKX", parts[0], parts[1], MarketType.SPOT, raw=code)
        if len(parts) == 3 and parts[2] == "SWAP":
            return NormalizedSymbol("OKX", parts[0], parts[1], MarketType.PERP, settle=parts[1], raw=code)
        raise SymbolError(f"okx instId {code!r} is not BASE-QUOTE or BASE-QUOTE-SWAP")
    if broker == "shioaji":
        if re.fullmatch(r"\d{4,6}[A-Z]?", code):
            stock_venue = (venue or "TWSE").upper()
            if stock_venue in ("TSE", "OTC"):
                stock_venue = {"TSE": "TWSE", "OTC": "TPEX"}[stock_venue]
            return NormalizedSymbol(stock_venue, code, "TWD", MarketType.STOCK, raw=code)
        cont = re.fullmatch(r"([A-Z]{3})R([12])", code)
        if cont:
            return NormalizedSymbol(
                "TAIFEX", cont[1], "TWD", MarketType.FUTURE, continuous=int(cont[2]), raw=code
            )
        dated = re.fullmatch(r"([A-Z]{3})([A-L])(\d)", code)
        if dated:
            today = reference_date or dt.date.today()
            year = today.year - today.year % 10 + int(dated[3])
            if year < today.year - 1:
                year += 10
            expiry = dt.date(year, SHIOAJI_MONTHS.index(dated[2]) + 1, 1)
            return NormalizedSymbol("TAIFEX", dated[1], "TWD", MarketType.FUTURE, expiry=expiry, raw=code)
        raise SymbolError(f"shioaji code {code!r} is neither a stock code nor a futures code")
    if broker == "alpaca":
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,5}(\.[A-Z])?", code):
            raise SymbolError(f"alpaca symbol {code!r} is not a US stock symbol")
        return NormalizedSymbol((venue or "NASDAQ").upper(), code, "USD", MarketType.STOCK, raw=code)
    raise SymbolError(f"unknown broker {broker!r}")


def parse_symbol(value: str | NormalizedSymbol) -> NormalizedSymbol:
    """Accept a NormalizedSymbol or a TradingView ticker."""
    if isinstance(value, NormalizedSymbol):
        return value
    return parse_tradingview(value)
