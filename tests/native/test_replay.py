"""A paper deployment replayed bar by bar trades exactly what the backtest of the same version trades."""

from decimal import Decimal

from brokers.core.symbols import parse_tradingview
from brokers.services import get_broker_service
from execution.models import Order
from execution.native.feeds.replay import ReplayFeed
from execution.native.selectors import symbol_info_for
from strategies.pine import compile_source
from strategies.pine.runtime.engine import run_backtest
from tests.native.factories import (
    PERP,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
)
from tests.native.support import broker_orders, expected_orders, replay

WARMUP = 148  # + 2,000 replayed bars = GOOG's 2,148


def _trade_key(trade):
    return (trade.direction, trade.entry_id, trade.entry_time, round(trade.entry_price, 8), trade.exit_id,
            trade.exit_time, None if trade.exit_price is None else round(trade.exit_price, 8), trade.qty)


def test_a_paper_deployment_over_2000_bars_trades_like_the_backtest(in_retail, trader):
    bars = goog_bars_hourly()
    assert len(bars) - WARMUP == 2000
    series = make_series(bars=bars.slice(0, WARMUP))
    account = make_paper_account(trader)
    version = make_version(trader)
    deployment = deploy(trader, version, series, [account], warmup_bars=10_000)
    assert deployment.status == "running", deployment.status_reason

    replay(deployment, ReplayFeed(series, bars.slice(WARMUP, len(bars)), notify=None))

    deployment.refresh_from_db()
    assert deployment.status == "running", deployment.status_reason
    assert deployment.bars_processed == len(bars)
    backtest = run_backtest(compile_source(version.source), bars, symbol_info_for(series), timeframe="60")
    from execution.native.services import _runner_for

    live = _runner_for(deployment).runner.result()
    assert [_trade_key(t) for t in live.trades] == [_trade_key(t) for t in backtest.trades]
    assert len(backtest.trades) > 50

    # the broker got one order per command, in order, each filled
    assert broker_orders(deployment) == expected_orders(deployment)
    assert not Order.objects.exclude(state="filled").exists()
    # the strategy was flat after the warm-up, so the account mirrors the strategy's position exactly
    service = get_broker_service(account)
    assert service.position_quantity(parse_tradingview(PERP)) == deployment.traded_position
    assert deployment.traded_position == deployment.strategy_position


def test_every_fill_after_the_warm_up_reaches_the_broker(in_retail, trader):
    bars = goog_bars_hourly(600)
    series = make_series(bars=bars.slice(0, 100))
    version = make_version(trader)
    deployment = deploy(trader, version, series, [make_paper_account(trader)])

    replay(deployment, ReplayFeed(series, bars.slice(100, 600), notify=None))

    backtest = run_backtest(compile_source(version.source), bars, symbol_info_for(series), timeframe="60")
    fills_after_warmup = [e for e in backtest.events if e.kind == "fill" and e.bar_index >= 100]
    signed = sum(Decimal(str(e.qty)) * (1 if e.side == "buy" else -1) for e in fills_after_warmup)
    deployment.refresh_from_db()
    traded = sum((q if side == "buy" else -q for side, q in broker_orders(deployment)), Decimal(0))
    # the warm-up ended flat, so the orders add up to the fills of the live bars
    assert traded == signed
