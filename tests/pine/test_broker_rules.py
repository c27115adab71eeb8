"""TradingView broker-emulator rules on hand-made bars; expected values are worked out in each test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from strategies.pine.runtime.broker import BacktestResult, StrategyConfig, StrategyEmulator, SymbolInfo

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
STOCK = SymbolInfo(ticker="TEST", mintick=0.01, pointvalue=1.0, type="stock", timezone="Etc/UTC")

Bar = tuple[float, float, float, float]  # open, high, low, close
Script = Callable[[StrategyEmulator, int], None]


def run(bars: list[Bar], script: Script, config: StrategyConfig | None = None,
        symbol: SymbolInfo = STOCK, setup: Callable[[StrategyEmulator], None] | None = None,
        ) -> tuple[StrategyEmulator, BacktestResult]:
    emu = StrategyEmulator(config or StrategyConfig(initial_capital=10_000.0), symbol)
    if setup:
        setup(emu)
    for i, (o, h, lo, c) in enumerate(bars):
        emu.process_bar(i, T0 + i * HOUR, o, h, lo, c, 0.0)
        script(emu, i)
        emu.after_script(i)
    return emu, emu.finish()


def at(actions: dict[int, Callable[[StrategyEmulator], None]]) -> Script:
    def script(emu: StrategyEmulator, i: int) -> None:
        if i in actions:
            actions[i](emu)
    return script


FLAT: list[Bar] = [(100, 101, 99, 100)] * 6


# ----------------------------------------------------------------------------- market orders
def test_market_order_fills_at_next_bar_open() -> None:
    bars = [(100, 101, 99, 100), (102, 103, 101, 102), (104, 105, 103, 104)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long")}))
    (t,) = res.trades
    assert (t.entry_bar, t.entry_price, t.qty, t.is_open) == (1, 102, 1, True)


def test_process_orders_on_close_fills_at_the_signal_bar_close() -> None:
    bars = [(100, 101, 99, 100.5), (102, 103, 101, 102)]
    cfg = StrategyConfig(initial_capital=10_000.0, process_orders_on_close=True)
    _emu, res = run(bars, at({0: lambda e: e.entry("L", "long")}), cfg)
    assert (res.trades[0].entry_bar, res.trades[0].entry_price) == (0, 100.5)


def test_close_immediately_fills_at_the_current_close() -> None:
    bars = [(100, 101, 99, 100), (102, 103, 101, 102.5), (104, 105, 103, 104)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long"),
                           1: lambda e: e.close("L", immediately=True)}))
    (t,) = res.trades
    assert (t.exit_bar, t.exit_price, t.profit) == (1, 102.5, pytest.approx(0.5))


# ----------------------------------------------------------------------------- stop / limit
def test_stop_entry_gapped_through_fills_at_the_open() -> None:
    bars = [(100, 101, 99, 100), (107, 108, 106, 107)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", stop=105)}))
    assert res.trades[0].entry_price == 107


def test_stop_entry_crossed_intrabar_fills_at_the_stop_price() -> None:
    bars = [(100, 101, 99, 100), (101, 106, 100, 105)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", stop=105)}))
    assert res.trades[0].entry_price == 105


def test_limit_entry_fills_at_limit_or_better_open() -> None:
    bars = [(100, 101, 99, 100), (100, 100.5, 97, 98), (100, 101, 99, 100), (95, 96, 94, 95)]
    _, res = run(bars, at({0: lambda e: e.entry("A", "long", limit=98),
                           2: lambda e: e.close("A", immediately=True) or e.entry("B", "long", limit=97)}))
    a, b = res.trades
    assert a.entry_price == 98  # crossed intrabar
    assert b.entry_price == 95  # opened below the limit: the better open price


def test_path_goes_to_the_nearer_extreme_first_stop_before_limit() -> None:
    # open 100, high 111 (11 away), low 94 (6 away): low is nearer -> open, low, high, close
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 111, 94, 100)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long"),
                           1: lambda e: e.exit("X", "L", limit=110, stop=95)}))
    assert res.trades[0].exit_price == 95


def test_path_goes_to_the_nearer_extreme_first_limit_before_stop() -> None:
    # open 100, high 106 (6 away), low 90 (10 away): high is nearer -> open, high, low, close
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 90, 100)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long"),
                           1: lambda e: e.exit("X", "L", limit=105, stop=95)}))
    assert res.trades[0].exit_price == 105


def test_entry_filled_intrabar_can_exit_later_on_the_same_bar() -> None:
    # path open 100 -> high 105 -> low 90: stop entry at 104 fills on the way up, the bracket's
    # stop at 97 (placed before the entry, waiting for it) fills on the way down
    bars = [(100, 100, 100, 100), (100, 105, 90, 95)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long", stop=104),
                                         e.exit("X", "L", stop=97, limit=120))}))
    (t,) = res.trades
    assert (t.entry_price, t.exit_price, t.entry_bar, t.exit_bar) == (104, 97, 1, 1)


def test_order_prices_snap_to_the_tick_grid_against_the_order() -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", stop=100.001)}))
    assert res.trades[0].entry_price == 100.01  # a buy stop triggers at the first tick above


# ----------------------------------------------------------------------------- position rules
def test_pyramiding_caps_same_direction_entries() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=3)
    _, res = run(FLAT, lambda e, i: e.entry(f"L{i}", "long") if i < 4 else None, cfg)
    assert [t.entry_id for t in res.trades] == ["L0", "L1", "L2"]


def test_pyramiding_zero_behaves_as_one() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=0)
    _, res = run(FLAT, lambda e, i: e.entry(f"L{i}", "long") if i < 3 else None, cfg)
    assert len(res.trades) == 1


def test_entry_placed_while_pyramiding_is_full_is_ignored() -> None:
    # a long limit placed while already long never fills later, even after the position is closed
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 100, 100), (100, 101, 90, 95)]
    _, res = run(bars, at({0: lambda e: e.entry("A", "long"),
                           1: lambda e: (e.entry("B", "long", limit=92), e.close("A"))}))
    assert [t.entry_id for t in res.trades] == ["A"]


def test_entry_reverses_an_opposite_position() -> None:
    bars = [(100, 100, 100, 100), (101, 101, 101, 101), (103, 103, 103, 103), (104, 104, 104, 104)]
    emu, res = run(bars, at({0: lambda e: e.entry("L", "long", qty=2),
                             1: lambda e: e.entry("S", "short", qty=1)}))
    first, second = res.trades
    assert (first.direction, first.qty, first.exit_price, first.exit_signal) == ("long", 2, 103, "S")
    assert (second.direction, second.qty, second.entry_price) == ("short", 1, 103)
    assert emu.position_size == -1


def test_reversing_entry_is_sized_when_placed_and_nets_at_the_fill() -> None:
    # the short limit is placed while flat (qty 1); a long appears before it fills, so the fill only
    # closes the long and opens nothing -- TradingView's behaviour in the slippage_limit export
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 100, 105)]
    emu, res = run(bars, at({0: lambda e: (e.entry("S", "short", limit=105), e.entry("L", "long"))}))
    (t,) = res.trades
    assert (t.direction, t.exit_price, t.is_open) == ("long", 105, False)
    assert emu.position_size == 0


def test_both_breakout_stops_can_fill_on_one_bar_along_the_path() -> None:
    # open 100, low 97 (3 away) nearer than high 106: the short stop fills on the way down, then the
    # long stop fills on the way up. Both were placed flat (qty 1 each), so the long only closes the
    # short: TradingView sizes a reversal when the order is placed.
    bars = [(100, 100, 100, 100), (100, 106, 97, 105)]
    emu, res = run(bars, at({0: lambda e: (e.entry("S", "short", stop=98), e.entry("L", "long", stop=104))}))
    (short,) = res.trades
    assert (short.entry_price, short.exit_price, short.exit_signal, short.exit_bar) == (98, 104, "L", 1)
    assert emu.position_size == 0


def test_entry_placed_in_position_at_the_pyramiding_cap_is_ignored() -> None:
    # while long, the long breakout stop is re-placed every bar but ignored; once short, it is live
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 94, 100), (100, 100, 100, 100)]
    emu, res = run(bars, at({0: lambda e: e.entry("L", "long"),
                             1: lambda e: (e.entry("L2", "long", stop=105), e.entry("S", "short", stop=95))}))
    # bar 2 path: open 100 -> high 106 -> low 94; L2 was ignored (placed while long), S fills at 95
    assert [(t.entry_id, t.exit_price) for t in res.trades] == [("L", 95), ("S", 100)]
    assert emu.position_size == -1


def test_strategy_order_nets_and_ignores_pyramiding() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 100, 100), (110, 110, 110, 110),
            (110, 110, 110, 110)]
    emu, res = run(bars, at({0: lambda e: e.order("B1", "long", qty=1),
                             1: lambda e: e.order("B2", "long", qty=1),
                             2: lambda e: e.order("S", "short", qty=3)}))
    assert emu.position_size == -1
    b1, b2, s = res.trades
    assert (b1.qty, b1.exit_price, b2.qty, b2.exit_price) == (1, 110, 1, 110)
    assert (s.direction, s.qty, s.entry_price, s.is_open) == ("short", 1, 110, True)


def test_same_id_modifies_the_pending_order() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 104, 99, 103)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", stop=102),
                           1: lambda e: e.entry("L", "long", stop=103)}))
    assert res.trades[0].entry_price == 103


def test_close_exits_only_trades_of_that_entry_id() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=2)
    emu, res = run(FLAT, at({0: lambda e: e.entry("A", "long"), 1: lambda e: e.entry("B", "long"),
                             2: lambda e: e.close("A", comment="bye A")}), cfg)
    closed = [t for t in res.trades if not t.is_open]
    assert [(t.entry_id, t.exit_signal, t.exit_bar) for t in closed] == [("A", "bye A", 3)]
    assert emu.position_size == 1


def test_close_all_exits_everything_with_default_signal() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=2)
    emu, res = run(FLAT, at({0: lambda e: e.entry("A", "long"), 1: lambda e: e.entry("B", "long"),
                             2: lambda e: e.close_all()}), cfg)
    assert [t.exit_signal for t in res.trades] == ["Close position order"] * 2
    assert emu.position_size == 0


def test_cancel_removes_a_pending_order() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 110, 90, 100)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", stop=105), 1: lambda e: e.cancel("L")}))
    assert res.trades == []


def test_cancel_all_removes_every_pending_order() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 110, 90, 100)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long", stop=105), e.entry("S", "short", stop=95)),
                           1: lambda e: e.cancel_all()}))
    assert res.trades == []


# ----------------------------------------------------------------------------- exits
def test_exit_profit_and_loss_are_ticks_from_the_entry_price() -> None:
    # entry at 100; profit=500 ticks of 0.01 -> 105, loss=300 ticks -> 97
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 101, 96, 98)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long"), e.exit("X", "L", profit=500, loss=300))}))
    assert res.trades[0].exit_price == 97


def test_exit_waits_for_its_entry() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 90, 95)]
    _, res = run(bars, at({0: lambda e: e.exit("X", "L", stop=92), 1: lambda e: e.entry("L", "long")}))
    (t,) = res.trades
    assert (t.entry_bar, t.exit_bar, t.exit_price, t.exit_signal) == (2, 3, 92, "X")


def test_partial_exit_with_qty_percent_splits_the_trade() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 100, 104), (104, 104, 104, 104)]
    emu, res = run(bars, at({0: lambda e: (e.entry("L", "long", qty=4),
                                           e.exit("TP", "L", qty_percent=50, limit=105))}))
    closed, still_open = res.trades
    assert (closed.qty, closed.exit_price, closed.profit) == (2, 105, 10)
    assert (still_open.qty, still_open.is_open) == (2, True)
    assert emu.position_size == 2


def test_bracket_legs_reduce_each_other() -> None:
    # the limit leg fills; the stop leg of the same exit must not fill afterwards on the same bar
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 90, 95)]
    emu, res = run(bars, at({0: lambda e: (e.entry("L", "long", qty=1),
                                           e.exit("X", "L", limit=105, stop=95))}))
    assert [t.exit_price for t in res.trades] == [105]
    assert emu.position_size == 0


def test_trailing_stop_activates_then_trails_the_extreme() -> None:
    # entry 100; trail_points 200 ticks -> activation at 102; offset 100 ticks = 1.00
    # bar 2 rises to 104.5 (activated, extreme 104.5), bar 3 falls to 102 -> stop at 103.5
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 104.5, 100, 104), (104, 104.2, 102, 102.5)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long"),
                                         e.exit("T", "L", trail_points=200, trail_offset=100))}))
    assert res.trades[0].exit_price == pytest.approx(103.5)


def test_trailing_stop_not_activated_does_not_fill() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 101.5, 95, 96)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long"),
                                         e.exit("T", "L", trail_points=200, trail_offset=100))}))
    assert res.trades[0].is_open


# ----------------------------------------------------------------------------- OCA
def test_oca_cancel_cancels_the_other_orders_of_the_group() -> None:
    bars = [(100, 100, 100, 100), (100, 103, 99, 102), (102, 102, 90, 95)]
    _, res = run(bars, at({0: lambda e: (
        e.entry("L", "long", stop=102, oca_name="G", oca_type="cancel"),
        e.entry("S", "short", stop=92, oca_name="G", oca_type="cancel"))}))
    (t,) = res.trades
    assert (t.direction, t.entry_price, t.is_open) == ("long", 102, True)


def test_oca_reduce_reduces_the_other_orders_of_the_group() -> None:
    # two sell orders of 3 each in a reduce group; the first fills 3 -> the second is reduced to 0
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 94, 100)]
    emu, _ = run(bars, at({0: lambda e: e.order("B", "long", qty=3),
                           1: lambda e: (e.order("TP", "short", qty=3, limit=105, oca_name="R",
                                                 oca_type="reduce"),
                                         e.order("SL", "short", qty=3, stop=95, oca_name="R",
                                                 oca_type="reduce"))}))
    assert emu.position_size == 0


# ----------------------------------------------------------------------------- costs
def _round_trip(config: StrategyConfig, symbol: SymbolInfo = STOCK, qty: float = 3) -> BacktestResult:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (110, 110, 110, 110), (110, 110, 110, 110)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", qty=qty), 1: lambda e: e.close("L")}),
                 config, symbol)
    return res


def test_commission_percent_of_traded_value_on_both_sides() -> None:
    res = _round_trip(StrategyConfig(initial_capital=10_000.0, commission_type="percent",
                                     commission_value=0.1))
    # gross 3 * 10 = 30; commission 0.1% of 300 + 0.1% of 330 = 0.63
    assert res.trades[0].profit == pytest.approx(30 - 0.63)
    assert res.trades[0].commission == pytest.approx(0.63)


def test_commission_cash_per_contract() -> None:
    res = _round_trip(StrategyConfig(initial_capital=10_000.0, commission_type="cash_per_contract",
                                     commission_value=2))
    assert res.trades[0].profit == pytest.approx(30 - 12)


def test_commission_cash_per_order() -> None:
    res = _round_trip(StrategyConfig(initial_capital=10_000.0, commission_type="cash_per_order",
                                     commission_value=5))
    assert res.trades[0].profit == pytest.approx(30 - 10)


def test_point_value_scales_profit() -> None:
    fut = SymbolInfo(ticker="ES", mintick=0.25, pointvalue=50.0, type="futures")
    res = _round_trip(StrategyConfig(initial_capital=100_000.0), fut, qty=2)
    assert res.trades[0].profit == 10 * 2 * 50


def test_slippage_applies_to_market_and_stop_fills_but_not_limit() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, slippage=3)  # 3 ticks = 0.03
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 99, 105), (105, 105, 105, 105),
            (105, 105, 105, 105), (104, 104, 98, 99)]
    _, res = run(bars, at({0: lambda e: e.entry("M", "long"),
                           1: lambda e: e.exit("TP", "M", limit=105),
                           3: lambda e: e.entry("S", "short", stop=100)}), cfg)
    market, stop = res.trades
    assert market.entry_price == pytest.approx(100.03)  # market buy: 3 ticks worse
    assert market.exit_price == 105  # limit: no slippage
    assert stop.entry_price == pytest.approx(99.97)  # sell stop: 3 ticks worse


def test_percent_of_equity_quantity_uses_signal_close_and_quantity_step() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, default_qty_type="percent_of_equity",
                         default_qty_value=50)
    bars = [(100, 100, 100, 99), (101, 101, 101, 101)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long")}), cfg)
    # 50% of 10,000 at the signal close 99 -> 50.505 -> floored to whole shares (stock)
    assert res.trades[0].qty == 50


def test_percent_of_equity_reserves_percent_commission() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, default_qty_type="percent_of_equity",
                         default_qty_value=100, commission_type="percent", commission_value=1.0)
    sym = SymbolInfo(ticker="BTC", mintick=0.01, type="crypto", mincontract=0.001)
    bars = [(100, 100, 100, 100), (100, 100, 100, 100)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long")}), cfg, sym)
    # 10,000 / (100 * 1.01) = 99.0099 -> 99.009
    assert res.trades[0].qty == pytest.approx(99.009)


def test_cash_quantity() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, default_qty_type="cash", default_qty_value=1_000)
    bars = [(100, 100, 100, 80), (81, 81, 81, 81)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long")}), cfg)
    assert res.trades[0].qty == 12  # 1000 / 80 = 12.5 -> 12 shares


# ----------------------------------------------------------------------------- trade statistics
def test_trade_runup_and_drawdown_use_the_price_excursion() -> None:
    bars = [(100, 100, 100, 100), (100, 104, 97, 101), (101, 102, 99, 101), (101, 101, 101, 101)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", qty=2), 2: lambda e: e.close("L")}))
    t = res.trades[0]
    assert (t.runup, t.drawdown, t.profit) == (8, -6, 2)
    assert t.runup_pct == pytest.approx(4.0)


def test_cumulative_profit_and_script_properties() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (105, 105, 105, 105), (105, 105, 105, 105),
            (103, 103, 103, 103), (103, 103, 103, 103)]
    emu, res = run(bars, at({0: lambda e: e.entry("A", "long"), 1: lambda e: e.close("A"),
                             2: lambda e: e.entry("B", "long"), 3: lambda e: e.close("B")}))
    assert [t.cum_profit for t in res.trades] == [5, 3]
    assert (emu.netprofit, emu.grossprofit, emu.grossloss) == (3, 5, 2)
    assert (emu.closedtrades, emu.wintrades, emu.losstrades) == (2, 1, 1)
    assert emu.equity == 10_003


# ----------------------------------------------------------------------------- risk
def test_allow_entry_in_long_turns_short_entries_into_exits() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (102, 102, 102, 102), (102, 102, 102, 102)]
    emu, res = run(bars, at({0: lambda e: e.entry("L", "long"), 1: lambda e: e.entry("S", "short")}),
                   setup=lambda e: e.risk_allow_entry_in("long"))
    assert emu.position_size == 0
    assert [(t.direction, t.exit_price, t.exit_signal) for t in res.trades] == [("long", 102, "S")]


def test_max_position_size_caps_entries() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=5)
    emu, _ = run(FLAT, lambda e, i: e.entry(f"L{i}", "long", qty=2) if i < 4 else None, cfg,
                 setup=lambda e: e.risk_max_position_size(5))
    assert emu.position_size == 5


def test_max_intraday_loss_closes_the_position_and_stops_trading_for_the_day() -> None:
    # 10 shares bought at 100; by the close of bar 2 equity lost 10 * 20 = 200 > 1% of 10,000
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 80, 80), (80, 80, 80, 80),
            (80, 80, 80, 80)]
    emu, res = run(bars, lambda e, i: e.entry("L", "long", qty=10) if i in (0, 3) else None,
                   setup=lambda e: e.risk_max_intraday_loss(1, "percent_of_equity"))
    (t,) = res.trades
    assert (t.exit_bar, t.exit_price) == (2, 80)
    assert emu.position_size == 0  # the re-entry on bar 3 is refused: same trading day


# ----------------------------------------------------------------------------- margin
def test_order_exceeding_margin_is_rejected() -> None:
    cfg = StrategyConfig(initial_capital=1_000.0, margin_long=100)
    _emu, res = run(FLAT, at({0: lambda e: e.entry("L", "long", qty=11)}), cfg)  # needs 1,100
    assert res.trades == []
    assert any(ev.kind == "cancel" and ev.comment == "insufficient margin" for ev in res.events)


def test_margin_call_liquidates_four_times_the_cover_amount() -> None:
    # margin 25%: 100 shares at 100 on 2,600 equity (needs 2,500). Bar 2's low 95:
    # equity 2,600 - 500 = 2,100; margin 100 * 95 * 0.25 = 2,375; available -275;
    # loss = 275 / 0.25 = 1,100; cover = floor(1100 / 95) = 11 shares; liquidate 44 at 95
    cfg = StrategyConfig(initial_capital=2_600.0, margin_long=25)
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 95, 99)]
    emu, res = run(bars, at({0: lambda e: e.entry("L", "long", qty=100)}), cfg)
    called = [t for t in res.trades if not t.is_open]
    assert [(t.qty, t.exit_price, t.exit_signal) for t in called] == [(44, 95, "Margin call")]
    assert emu.position_size == 56


# ----------------------------------------------------------------------------- script-facing values
def test_trade_accessors_for_closed_and_open_trades() -> None:
    bars = [(100, 100, 100, 100), (100, 103, 98, 102), (104, 104, 104, 104), (104, 106, 101, 105)]
    emu, _ = run(bars, at({0: lambda e: e.entry("L", "long", qty=2, comment="in"),
                           1: lambda e: e.entry("S", "short", qty=1)}))
    assert emu.closedtrades_entry_price(0) == 100 and emu.closedtrades_exit_price(0) == 104
    assert emu.closedtrades_size(0) == 2 and emu.closedtrades_profit(0) == 8
    assert (emu.closedtrades_entry_id(0), emu.closedtrades_exit_id(0)) == ("L", "S")
    assert emu.closedtrades_entry_comment(0) == "in"
    assert (emu.closedtrades_entry_bar_index(0), emu.closedtrades_exit_bar_index(0)) == (1, 2)
    assert emu.opentrades_size(0) == -1 and emu.opentrades_entry_price(0) == 104
    assert emu.opentrades_profit(0) == -1  # short from 104, close 105
    assert emu.opentrades_max_drawdown(0) == -2  # high 106
    assert emu.closedtrades_entry_price(5) != emu.closedtrades_entry_price(5)  # na for a missing trade


def test_percent_summary_variables() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (110, 110, 110, 110), (110, 110, 110, 110)]
    emu, _ = run(bars, at({0: lambda e: e.entry("L", "long", qty=10), 1: lambda e: e.close("L")}))
    assert emu.netprofit == 100 and emu.netprofit_percent == pytest.approx(1.0)
    assert emu.avg_trade == 100 and emu.avg_winning_trade == 100
    assert emu.avg_trade_percent == pytest.approx(10.0)  # 100 on a 1,000 entry


def test_margin_liquidation_price_of_a_leveraged_long() -> None:
    # 100 shares at 100 with 25% margin on 2,600 equity: liquidation where
    # 2,600 + 100 * (P - 100) = 100 * P * 0.25  ->  P = 7,400 / 75 = 98.666.. -> floored to tick 98.66
    cfg = StrategyConfig(initial_capital=2_600.0, margin_long=25)
    emu, _ = run([(100, 100, 100, 100)] * 3, at({0: lambda e: e.entry("L", "long", qty=100)}), cfg)
    assert emu.margin_liquidation_price == pytest.approx(98.66)


def test_default_entry_qty_at_a_given_fill_price() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, default_qty_type="percent_of_equity",
                         default_qty_value=10)
    emu, _ = run(FLAT[:1], lambda e, i: None, cfg)
    assert emu.default_entry_qty(40) == 25  # 1,000 / 40


def test_close_at_the_open_precedes_the_margin_check() -> None:
    cfg = StrategyConfig(initial_capital=2_600.0, margin_long=25)
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 95, 99), (98, 98, 98, 98)]
    emu, res = run(bars, at({0: lambda e: e.entry("L", "long", qty=100),
                             1: lambda e: e.close_all(comment="script close")}), cfg)
    # bar 2: the script's close_all fills at the open (100) before the low, so no margin call at all
    assert [t.exit_signal for t in res.trades] == ["script close"]
    assert emu.position_size == 0


def test_stop_limit_entry_becomes_a_limit_once_the_stop_is_hit() -> None:
    # buy stop 105 limit 104: bar 1 touches 105 (stop triggered) then trades down to 103.5 -> fills 104
    bars = [(100, 100, 100, 100), (101, 105.5, 100.5, 105), (105, 105, 103.5, 104)]
    _, res = run(bars, at({0: lambda e: e.entry("L", "long", stop=105, limit=104)}))
    (t,) = res.trades
    assert (t.entry_bar, t.entry_price) == (2, 104)


def test_intraday_day_starts_at_the_session_start_in_the_symbol_time_zone() -> None:
    # the forex day starts 17:00 New York: a loss before 17:00 halts trading only until the 17:00 bar
    fx = SymbolInfo(ticker="EURUSD", mintick=0.01, type="forex", timezone="America/New_York",
                    mincontract=1, session_start="1700")
    emu = StrategyEmulator(StrategyConfig(initial_capital=10_000.0), fx)
    emu.risk_max_intraday_loss(100, "cash")
    start = T0 + 19 * HOUR  # 2024-01-01 19:00 UTC = 14:00 New York
    # bars at 14:00, 15:00, 16:00, 17:00, 18:00 New York; the loss is booked at the 15:00 close
    prices = [(100, 100, 100, 100), (100, 100, 80, 80), (80, 80, 80, 80), (80, 80, 80, 80),
              (80, 80, 80, 80)]
    for i, (o, h, lo, c) in enumerate(prices):
        emu.process_bar(i, start + i * HOUR, o, h, lo, c)
        if i in (0, 2, 3):  # 14:00 enters; 16:00 is refused (same day); 17:00 is a new trading day
            emu.entry(f"L{i}", "long", qty=10)
        emu.after_script(i)
    res = emu.finish()
    assert [t.entry_id for t in res.trades] == ["L0", "L3"]
    assert res.trades[0].exit_signal == "Close Position (Max intraday loss)"


def test_max_intraday_filled_orders_halts_after_the_count() -> None:
    emu, res = run(FLAT, lambda e, i: e.entry("L" if i % 2 == 0 else "S", "long" if i % 2 == 0 else "short"),
                   setup=lambda e: e.risk_max_intraday_filled_orders(2))
    # bar 1 fills L, bar 2 fills S (2 fills) -> at bar 2's close everything is closed, no more orders
    assert emu.position_size == 0
    assert len(res.trades) == 2


def test_max_drawdown_rule_stops_the_strategy_for_good() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 90, 90), (90, 90, 90, 90),
            (90, 90, 90, 90)]
    emu, res = run(bars, lambda e, i: e.entry("L", "long", qty=20) if i in (0, 3) else None,
                   setup=lambda e: e.risk_max_drawdown(1, "percent_of_equity"))
    # bar 2: equity 10,000 - 200 = 9,800 (2% below the peak) -> position closed, no re-entry
    assert [(t.exit_bar, t.exit_price) for t in res.trades] == [(2, 90)]
    assert emu.position_size == 0


def test_fifo_close_of_a_later_entry_closes_the_oldest_trade() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=2)  # close_entries_rule FIFO (default)
    bars = [(100, 100, 100, 100), (101, 101, 101, 101), (102, 102, 102, 102), (103, 103, 103, 103),
            (104, 104, 104, 104)]
    emu, res = run(bars, at({0: lambda e: e.entry("A", "long"), 1: lambda e: e.entry("B", "long"),
                             2: lambda e: e.close("B")}), cfg)
    closed = [t for t in res.trades if not t.is_open]
    assert [(t.entry_id, t.entry_price, t.exit_price) for t in closed] == [("A", 101, 103)]
    assert emu.opentrades_entry_id(0) == "B"


def test_any_rule_closes_the_named_entry() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=2, close_entries_rule="ANY")
    bars = [(100, 100, 100, 100), (101, 101, 101, 101), (102, 102, 102, 102), (103, 103, 103, 103),
            (104, 104, 104, 104)]
    emu, res = run(bars, at({0: lambda e: e.entry("A", "long"), 1: lambda e: e.entry("B", "long"),
                             2: lambda e: e.close("B")}), cfg)
    closed = [t for t in res.trades if not t.is_open]
    assert [(t.entry_id, t.entry_price, t.exit_price) for t in closed] == [("B", 102, 103)]
    assert emu.opentrades_entry_id(0) == "A"


def test_fifo_exit_from_a_later_entry_closes_the_oldest_trade() -> None:
    cfg = StrategyConfig(initial_capital=10_000.0, pyramiding=2)
    bars = [(100, 100, 100, 100), (101, 101, 101, 101), (102, 102, 102, 102), (102, 102, 99, 100)]
    emu, res = run(bars, at({0: lambda e: e.entry("A", "long"),
                             1: lambda e: (e.entry("B", "long"), e.exit("SL-B", "B", stop=100.5))}), cfg)
    closed = [t for t in res.trades if not t.is_open]
    assert [(t.entry_id, t.exit_price, t.exit_signal) for t in closed] == [("A", 100.5, "SL-B")]
    assert emu.position_size == 1


def test_every_order_state_change_is_an_event() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 99, 105), (105, 105, 105, 105)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long"), e.exit("X", "L", limit=105, stop=90)),
                           1: lambda e: e.exit("X", "L", limit=105, stop=95)}))
    kinds = [(ev.kind, ev.id) for ev in res.events]
    assert kinds == [("new", "L"), ("new", "X"), ("fill", "L"), ("modify", "X"), ("fill", "X")]
    fill_x = res.events[-1]
    assert (fill_x.side, fill_x.qty, fill_x.price, fill_x.bar_index) == ("sell", 1, 105, 2)


def test_exit_left_without_trades_is_cancelled_with_an_event() -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (101, 101, 101, 101), (101, 101, 101, 101)]
    _, res = run(bars, at({0: lambda e: (e.entry("L", "long"), e.exit("X", "L", stop=90)),
                           1: lambda e: e.close("L")}))
    assert ("cancel", "X") in [(ev.kind, ev.id) for ev in res.events]
