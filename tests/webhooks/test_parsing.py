"""The three accepted alert formats, and the 400 messages that name the offending field."""

import datetime as dt
from decimal import Decimal

import pytest

from execution.signals import Action, OrderKind
from webhooks.parsing import AlertFormatError, parse_alert

TRADINGVIEW_FILLED = """{
  "passphrase": "s3cret",
  "id": "Long-2026-01-02T15:04:05Z",
  "ticker": "BINANCE:BTCUSDT",
  "action": "buy",
  "contracts": "0.015",
  "close": "42000.5",
  "position_size": "0.015",
  "market_position": "long",
  "prev_market_position": "flat",
  "market_position_size": "0.015",
  "order_id": "Long",
  "timenow": "2026-01-02T15:04:05Z"
}"""


def test_a_tradingview_strategy_alert_with_filled_placeholders_becomes_one_buy_command():
    parsed = parse_alert(TRADINGVIEW_FILLED)
    (command,) = parsed.commands
    assert command.action is Action.BUY
    assert command.symbol == "BINANCE:BTCUSDT"
    assert command.quantity == Decimal("0.015")
    assert command.reference_price == Decimal("42000.5")
    assert parsed.passphrase == "s3cret"
    assert parsed.explicit_id == "Long-2026-01-02T15:04:05Z"
    assert parsed.sent_at == dt.datetime(2026, 1, 2, 15, 4, 5, tzinfo=dt.UTC)
    assert parsed.position_hint.market_position == "long"
    assert parsed.position_hint.prev_market_position == "flat"
    assert parsed.position_hint.target_signed == Decimal("0.015")


def test_exchange_and_bare_ticker_are_joined():
    (command,) = parse_alert('{"action": "sell", "exchange": "bybit", "ticker": "BTCUSDT.P", "contracts": 1}').commands
    assert command.symbol == "BYBIT:BTCUSDT.P"


def test_a_4pass_alert_with_several_commands_keeps_their_order():
    parsed = parse_alert('{"commands": [{"action": "exit", "symbol": "BINANCE:ETHUSDT"},'
                         ' {"action": "buy", "symbol": "BINANCE:ETHUSDT", "quantity": "2", "order_type": "limit",'
                         ' "limit_price": "2400", "take_profit": "2600", "stop_loss": "2300"}]}')
    exit_, buy = parsed.commands
    assert exit_.action is Action.EXIT
    assert buy.order_type is OrderKind.LIMIT
    assert (buy.limit_price, buy.take_profit, buy.stop_loss) == (Decimal(2400), Decimal(2600), Decimal(2300))


def test_text_commands_are_parsed_line_by_line():
    parsed = parse_alert("buy BINANCE:BTCUSDT 0.01\nclose ETHUSDT; sell ETHUSDT 2 limit 3000 sl 3100 passphrase=pw")
    buy, close, sell = parsed.commands
    assert (buy.action, buy.symbol, buy.quantity) == (Action.BUY, "BINANCE:BTCUSDT", Decimal("0.01"))
    assert (close.action, close.symbol, close.quantity) == (Action.EXIT, "ETHUSDT", None)
    assert sell.order_type is OrderKind.LIMIT and sell.limit_price == 3000 and sell.stop_loss == 3100
    assert parsed.passphrase == "pw"
    assert parsed.format == "text"


def test_an_alert_message_set_by_the_strategy_carries_the_commands():
    parsed = parse_alert('{"ticker": "BINANCE:BTCUSDT", "close": "100", "alert_message": "close BINANCE:BTCUSDT"}')
    (command,) = parsed.commands
    assert command.action is Action.EXIT
    assert command.reference_price == Decimal(100)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"action": "buy", "ticker": "BTCUSDT", "contracts": "lots"}', "quantity"),
        ('{"action": "hold", "ticker": "BTCUSDT"}', "action"),
        ('{"action": "buy"}', "symbol"),
        ('{"action": "buy", "ticker": "X", "order_type": "limit"}', "limit_price"),
        ('{"action": "buy", "ticker": "X", "contracts": "-1"}', "quantity"),
        ('{"action": "buy", "ticker": "X", "timenow": "yesterday"}', "timenow"),
        ('{"action": "buy", "ticker": "X", "market_position": "sideways"}', "market_position"),
        ('{"commands": []}', "commands"),
        ('{"action": "buy", ', "body"),
        ("", "body"),
        ("dance BTCUSDT", "line 1.action"),
    ],
)
def test_malformed_alerts_name_the_field_at_fault(body, field):
    with pytest.raises(AlertFormatError) as error:
        parse_alert(body)
    assert error.value.field == field


def test_tradingview_epoch_milliseconds_are_accepted_as_timenow():
    parsed = parse_alert('{"action": "buy", "ticker": "X", "timenow": "1767366245000"}')
    assert parsed.sent_at == dt.datetime(2026, 1, 2, 15, 4, 5, tzinfo=dt.UTC)
