import datetime as dt

import pytest

from brokers.core.errors import SymbolError
from brokers.core.symbols import (
    MarketType,
    NormalizedSymbol,
    from_ccxt,
    from_native,
    parse_tradingview,
    to_ccxt,
    to_native,
    to_tradingview,
)

TICKERS = [
    # ticker, venue, base, quote, market type, ccxt symbol
    ("BINANCE:BTCUSDT", "BINANCE", "BTC", "USDT", MarketType.SPOT, "BTC/USDT"),
    ("BINANCE:BTCUSDT.P", "BINANCE", "BTC", "USDT", MarketType.PERP, "BTC/USDT:USDT"),
    ("GATEIO:ETHUSDT", "GATEIO", "ETH", "USDT", MarketType.SPOT, "ETH/USDT"),
    ("BYBIT:BTCUSDT.P", "BYBIT", "BTC", "USDT", MarketType.PERP, "BTC/USDT:USDT"),
    ("OKX:BTCUSDT.P", "OKX", "BTC", "USDT", MarketType.PERP, "BTC/USDT:USDT"),
    ("TWSE:2330", "TWSE", "2330", "TWD", MarketType.STOCK, None),
    ("TPEX:6488", "TPEX", "6488", "TWD", MarketType.STOCK, None),
    ("TAIFEX:TXF1!", "TAIFEX", "TXF", "TWD", MarketType.FUTURE, None),
    ("TAIFEX:MXF1!", "TAIFEX", "MXF", "TWD", MarketType.FUTURE, None),
    ("NASDAQ:AAPL", "NASDAQ", "AAPL", "USD", MarketType.STOCK, None),
    ("NYSE:IBM", "NYSE", "IBM", "USD", MarketType.STOCK, None),
    ("AMEX:SPY", "AMEX", "SPY", "USD", MarketType.STOCK, None),
    ("OANDA:EURUSD", "OANDA", "EUR", "USD", MarketType.FOREX, None),
    ("FX:EURUSD", "FX", "EUR", "USD", MarketType.FOREX, None),
]


@pytest.mark.parametrize(("ticker", "venue", "base", "quote", "market_type", "ccxt_symbol"), TICKERS)
def test_tradingview_ticker_parses_to_normalized_symbol(ticker, venue, base, quote, market_type, ccxt_symbol):
    symbol = parse_tradingview(ticker)
    assert (symbol.venue, symbol.base, symbol.quote, symbol.market_type) == (venue, base, quote, market_type)
    assert symbol.raw == ticker


@pytest.mark.parametrize("ticker", [t[0] for t in TICKERS])
def test_tradingview_round_trip(ticker):
    assert to_tradingview(parse_tradingview(ticker)) == ticker


@pytest.mark.parametrize(("ticker", "ccxt_symbol"), [(t[0], t[5]) for t in TICKERS if t[5]])
def test_crypto_tickers_map_to_ccxt_and_back(ticker, ccxt_symbol):
    symbol = parse_tradingview(ticker)
    assert to_ccxt(symbol) == ccxt_symbol
    exchange = {"BINANCE": "binance", "GATEIO": "gate", "BYBIT": "bybit", "OKX": "okx"}[symbol.venue]
    assert from_ccxt(ccxt_symbol, exchange) == symbol


def test_continuous_future_keeps_roll_number():
    assert parse_tradingview("TAIFEX:TXF1!").continuous == 1
    assert parse_tradingview("TAIFEX:TXF2!").continuous == 2


def test_dated_taifex_future_uses_cme_month_code():
    symbol = parse_tradingview("TAIFEX:TXFZ2025")
    assert symbol.expiry == dt.date(2025, 12, 1)
    assert to_native(symbol, "shioaji") == "TXFL5"


@pytest.mark.parametrize(
    ("ticker", "broker", "native"),
    [
        ("BINANCE:BTCUSDT", "binance", "BTCUSDT"),
        ("BINANCE:BTCUSDT.P", "binance", "BTCUSDT"),
        ("GATEIO:ETHUSDT", "gate", "ETH_USDT"),
        ("OKX:BTCUSDT.P", "okx", "BTC-USDT-SWAP"),
        ("BYBIT:BTCUSDT.P", "bybit", "BTCUSDT"),
        ("TWSE:2330", "shioaji", "2330"),
        ("TPEX:6488", "shioaji", "6488"),
        ("TAIFEX:TXF1!", "shioaji", "TXFR1"),
        ("TAIFEX:MXF1!", "shioaji", "MXFR1"),
        ("NASDAQ:AAPL", "alpaca", "AAPL"),
        ("NYSE:IBM", "alpaca", "IBM"),
    ],
)
def test_native_codes_round_trip(ticker, broker, native):
    symbol = parse_tradingview(ticker)
    assert to_native(symbol, broker) == native
    back = from_native(native, broker, symbol.market_type, venue=symbol.venue)
    assert back == symbol


def test_okx_spot_code_has_no_swap_suffix():
    assert to_native(parse_tradingview("OKX:BTCUSDT"), "okx") == "BTC-USDT"


def test_shioaji_dated_future_code_resolves_decade_from_reference_date():
    symbol = from_native("TXFA6", "shioaji", reference_date=dt.date(2025, 11, 3))
    assert symbol.expiry == dt.date(2026, 1, 1)


def test_ticker_without_venue_is_rejected_with_hint():
    with pytest.raises(SymbolError, match=r"no exchange prefix.*BINANCE:BTCUSDT"):
        parse_tradingview("BTCUSDT")


def test_unknown_quote_currency_is_rejected():
    with pytest.raises(SymbolError, match="quote currency not recognised"):
        parse_tradingview("BINANCE:BTCXYZ")


def test_unknown_exchange_is_rejected():
    with pytest.raises(SymbolError, match="not supported"):
        parse_tradingview("KRAKEN:XBTUSD")


def test_binance_native_code_needs_market_type():
    with pytest.raises(SymbolError, match="ambiguous"):
        from_native("BTCUSDT", "binance")


def test_symbol_for_another_venue_is_not_mapped_to_a_broker():
    with pytest.raises(SymbolError):
        to_native(parse_tradingview("NASDAQ:AAPL"), "shioaji")
    with pytest.raises(SymbolError):
        to_native(parse_tradingview("BINANCE:BTCUSDT"), "okx")


def test_invalid_taiwan_stock_code_is_rejected():
    with pytest.raises(SymbolError, match="4-6 digits"):
        parse_tradingview("TWSE:TSMC")


def test_equality_ignores_raw_text():
    assert parse_tradingview("binance:btcusdt") == NormalizedSymbol("BINANCE", "BTC", "USDT", MarketType.SPOT)
