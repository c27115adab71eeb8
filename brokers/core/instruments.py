"""Default trading rules per market, used by the paper broker and as a fallback when a broker does not
publish rules for a symbol. Live adapters use the rules the broker reports (ccxt markets, Shioaji
contracts, Alpaca assets)."""

from __future__ import annotations

from decimal import Decimal

from brokers.core.models import Instrument
from brokers.core.symbols import MarketType, NormalizedSymbol, to_native

D = Decimal

# TWSE/TPEx stock tick sizes by price band (TWSE trading rules, Article 58-1 / TPEx equivalent).
TW_STOCK_TICK_BANDS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (D("10"), D("0.01")),
    (D("50"), D("0.05")),
    (D("100"), D("0.1")),
    (D("500"), D("0.5")),
    (D("1000"), D("1")),
    (None, D("5")),
)
TW_COMMON_LOT = D(1000)  # shares per common lot

# TAIFEX index futures: point value in TWD and tick in index points.
TAIFEX_FUTURES = {
    "TXF": (D(200), D(1)),  # TAIEX futures
    "MXF": (D(50), D(1)),  # Mini-TAIEX
    "TMF": (D(10), D(1)),  # Micro TAIEX
    "EXF": (D(4000), D("0.05")),  # Electronic sector
    "FXF": (D(1000), D("0.2")),  # Finance sector
}


def default_instrument(symbol: NormalizedSymbol) -> Instrument:
    if symbol.market_type is MarketType.STOCK and symbol.quote == "TWD":
        return Instrument(
            symbol=symbol,
            native_symbol=symbol.base,
            tick_size=D("0.01"),
            qty_step=D(1),
            min_qty=D(1),
            tick_bands=TW_STOCK_TICK_BANDS,
        )
    if symbol.venue == "TAIFEX":
        multiplier, tick = TAIFEX_FUTURES.get(symbol.base, (D(1), D(1)))
        return Instrument(
            symbol=symbol,
            native_symbol=to_native(symbol, "shioaji"),
            tick_size=tick,
            qty_step=D(1),
            min_qty=D(1),
            contract_multiplier=multiplier,
        )
    if symbol.market_type is MarketType.STOCK:
        # Reg NMS sub-penny rule: $0.01 ticks at or above $1.00, $0.0001 below.
        return Instrument(
            symbol=symbol,
            native_symbol=symbol.base,
            tick_size=D("0.01"),
            qty_step=D(1),
            min_qty=D(1),
            tick_bands=((D(1), D("0.0001")), (None, D("0.01"))),
        )
    if symbol.market_type is MarketType.FOREX:
        tick = D("0.001") if symbol.quote == "JPY" else D("0.00001")
        return Instrument(symbol=symbol, native_symbol=f"{symbol.base}{symbol.quote}", tick_size=tick, qty_step=D(1), min_qty=D(1))
    # crypto spot / perpetual
    return Instrument(
        symbol=symbol,
        native_symbol=f"{symbol.base}{symbol.quote}",
        tick_size=D("0.01"),
        qty_step=D("0.00001"),
        min_qty=D("0.00001"),
        min_notional=D(5),
    )
