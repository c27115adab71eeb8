"""Parse the three accepted alert formats into execution Commands. Pure: no Django.

1. TradingView alert JSON with placeholders filled (keys as in the generated message: ticker, action,
   contracts, position_size, market_position, prev_market_position, market_position_size, order_id,
   close, timenow, alert_message).
2. The 4pass JSON schema: {"action": "buy|sell|exit|cancel", "symbol": "BINANCE:BTCUSDT", "quantity": "0.01",
   "order_type": "market|limit|stop|stop_limit", "limit_price", "stop_price", "take_profit", "stop_loss",
   "id": "<idempotency key>", "passphrase": "...", "commands": [{...}, ...]}. Both forms share one key set.
3. Text commands, one per line or separated by ";": ``buy BINANCE:BTCUSDT 0.01``, ``sell ETHUSDT 2 limit 3000``,
   ``close BTCUSDT``, ``cancel BTCUSDT``; optional ``passphrase=...`` and ``id=...`` tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from execution.signals import Action, Command, OrderKind, PositionHint

ACTION_ALIASES = {
    "buy": Action.BUY,
    "long": Action.BUY,
    "sell": Action.SELL,
    "short": Action.SELL,
    "exit": Action.EXIT,
    "close": Action.EXIT,
    "flat": Action.EXIT,
    "flatten": Action.EXIT,
    "cancel": Action.CANCEL,
}
MAX_COMMANDS = 10
_TEXT_PRICE_WORDS = {"limit": "limit_price", "stop": "stop_price", "tp": "take_profit", "sl": "stop_loss"}


class AlertFormatError(ValueError):
    """The body cannot be turned into commands. ``field`` names the offending field for the 400 reply."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedAlert:
    format: str  # "json" | "text"
    commands: tuple[Command, ...]
    passphrase: str | None = None
    explicit_id: str | None = None
    sent_at: dt.datetime | None = None  # {{timenow}}
    position_hint: PositionHint | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def parse_alert(body: str) -> ParsedAlert:
    text = body.strip()
    if not text:
        raise AlertFormatError("body", "the alert message is empty")
    if text[0] in "{[":
        try:
            data = json.loads(text, parse_float=str, parse_int=str)
        except json.JSONDecodeError as error:
            raise AlertFormatError("body", f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
        if not isinstance(data, dict):
            raise AlertFormatError("body", "a JSON alert must be an object")
        return _parse_json(data)
    return _parse_text(text)


# ----------------------------------------------------------------------------- JSON


def _parse_json(data: dict[str, Any]) -> ParsedAlert:
    passphrase = _optional_str(data, "passphrase")
    explicit_id = _optional_str(data, "id")
    if explicit_id is not None and len(explicit_id) > 100:
        raise AlertFormatError("id", "must be at most 100 characters")
    sent_at = _parse_time(data.get("timenow") if data.get("timenow") is not None else data.get("time"))
    hint = _position_hint(data)
    defaults = {k: data[k] for k in ("symbol", "ticker", "exchange", "close", "price") if data.get(k) not in (None, "")}

    commands: list[Command] = []
    alert_message = _optional_str(data, "alert_message")
    if alert_message:
        nested = parse_alert(alert_message)
        commands.extend(_with_default_symbol(c, defaults) for c in nested.commands)
        passphrase = passphrase or nested.passphrase
        explicit_id = explicit_id or nested.explicit_id
    elif "commands" in data:
        items = data["commands"]
        if not isinstance(items, list) or not items:
            raise AlertFormatError("commands", "must be a non-empty list of command objects")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise AlertFormatError(f"commands[{index}]", "must be an object")
            commands.append(_command_from_mapping({**defaults, **item}, prefix=f"commands[{index}]."))
    else:
        commands.append(_command_from_mapping(data, prefix=""))
    if len(commands) > MAX_COMMANDS:
        raise AlertFormatError("commands", f"at most {MAX_COMMANDS} commands per alert")
    return ParsedAlert("json", tuple(commands), passphrase, explicit_id, sent_at, hint)


def _with_default_symbol(command: Command, defaults: dict[str, Any]) -> Command:
    if command.reference_price is None and (defaults.get("close") or defaults.get("price")):
        command = replace(command, reference_price=_decimal(defaults.get("close") or defaults.get("price"), "close"))
    return command


def _command_from_mapping(data: dict[str, Any], *, prefix: str) -> Command:
    raw_action = data.get("action", data.get("side"))
    if raw_action in (None, ""):
        raise AlertFormatError(f"{prefix}action", "is required (buy, sell, exit or cancel)")
    action = ACTION_ALIASES.get(str(raw_action).strip().lower())
    if action is None:
        raise AlertFormatError(f"{prefix}action", f"unknown action {raw_action!r}; use buy, sell, exit or cancel")
    symbol = _symbol(data, prefix)
    quantity_raw = next((data[k] for k in ("quantity", "qty", "contracts") if data.get(k) not in (None, "")), None)
    quantity = _positive(quantity_raw, f"{prefix}quantity") if quantity_raw is not None else None
    order_type_raw = str(data.get("order_type") or data.get("type") or "market").strip().lower()
    try:
        order_type = OrderKind(order_type_raw)
    except ValueError:
        raise AlertFormatError(f"{prefix}order_type", "must be market, limit, stop or stop_limit") from None
    prices = {
        name: _positive(data[name], f"{prefix}{name}") if data.get(name) not in (None, "") else None
        for name in ("limit_price", "stop_price", "take_profit", "stop_loss")
    }
    reference = data.get("close", data.get("price"))
    return _checked(
        Command(
            action=action,
            symbol=symbol,
            quantity=quantity,
            order_type=order_type,
            reference_price=_positive(reference, f"{prefix}close") if reference not in (None, "") else None,
            **prices,
        ),
        prefix,
    )


def _symbol(data: dict[str, Any], prefix: str) -> str:
    symbol = data.get("symbol") or data.get("ticker")
    if not symbol or not isinstance(symbol, str):
        raise AlertFormatError(f"{prefix}symbol", "is required (e.g. BINANCE:BTCUSDT)")
    symbol = symbol.strip().upper()
    exchange = data.get("exchange")
    if exchange and ":" not in symbol:
        symbol = f"{str(exchange).strip().upper()}:{symbol}"
    if not re.fullmatch(r"[A-Z0-9_]+:[A-Z0-9._!\-/]+|[A-Z0-9._!\-/]+", symbol) or len(symbol) > 60:
        raise AlertFormatError(f"{prefix}symbol", f"{symbol[:60]!r} is not a ticker")
    return symbol


def _checked(command: Command, prefix: str) -> Command:
    if command.action in (Action.BUY, Action.SELL):
        if command.order_type in (OrderKind.LIMIT, OrderKind.STOP_LIMIT) and command.limit_price is None:
            raise AlertFormatError(f"{prefix}limit_price", f"is required for {command.order_type} orders")
        if command.order_type in (OrderKind.STOP, OrderKind.STOP_LIMIT) and command.stop_price is None:
            raise AlertFormatError(f"{prefix}stop_price", f"is required for {command.order_type} orders")
    return command


def _position_hint(data: dict[str, Any]) -> PositionHint | None:
    position = _optional_str(data, "market_position")
    if position is None:
        return None
    position = position.lower()
    if position not in ("long", "short", "flat"):
        raise AlertFormatError("market_position", "must be long, short or flat")
    previous = _optional_str(data, "prev_market_position")
    size_raw = data.get("market_position_size", data.get("position_size"))
    size = None
    if size_raw not in (None, ""):
        size = abs(_decimal(size_raw, "market_position_size"))
    return PositionHint(position, previous.lower() if previous else None, size)


# ----------------------------------------------------------------------------- text


def _parse_text(text: str) -> ParsedAlert:
    passphrase = explicit_id = None
    commands: list[Command] = []
    for number, line in enumerate(filter(None, (p.strip() for p in re.split(r"[;\n]", text))), start=1):
        words = []
        for token in line.split():
            key, sep, value = token.partition("=")
            if sep and key.lower() == "passphrase":
                passphrase = value
            elif sep and key.lower() == "id":
                explicit_id = value[:100]
            else:
                words.append(token)
        if words:
            commands.append(_text_command(words, f"line {number}"))
    if not commands:
        raise AlertFormatError("body", "no command found (e.g. 'buy BINANCE:BTCUSDT 0.01')")
    if len(commands) > MAX_COMMANDS:
        raise AlertFormatError("body", f"at most {MAX_COMMANDS} commands per alert")
    return ParsedAlert("text", tuple(commands), passphrase, explicit_id)


def _text_command(words: list[str], where: str) -> Command:
    action = ACTION_ALIASES.get(words[0].lower())
    if action is None:
        raise AlertFormatError(f"{where}.action", f"unknown action {words[0]!r}; use buy, sell, close or cancel")
    if len(words) < 2:
        raise AlertFormatError(f"{where}.symbol", "is required after the action (e.g. 'buy BINANCE:BTCUSDT 0.01')")
    fields: dict[str, Any] = {"action": words[0], "symbol": words[1]}
    rest = words[2:]
    if rest and rest[0].lower() not in _TEXT_PRICE_WORDS:
        fields["quantity"] = rest.pop(0)
    while rest:
        word = rest.pop(0).lower()
        if word not in _TEXT_PRICE_WORDS or not rest:
            raise AlertFormatError(where, f"unexpected {word!r}; expected 'limit <price>', 'stop <price>', 'tp <price>' or 'sl <price>'")
        fields[_TEXT_PRICE_WORDS[word]] = rest.pop(0)
    if fields.get("limit_price") and fields.get("stop_price"):
        fields["order_type"] = "stop_limit"
    elif fields.get("limit_price"):
        fields["order_type"] = "limit"
    elif fields.get("stop_price"):
        fields["order_type"] = "stop"
    return _command_from_mapping(fields, prefix=f"{where}.")


# ----------------------------------------------------------------------------- values


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise AlertFormatError(key, "must be a string")
    return str(value)


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise AlertFormatError(name, f"{str(value)[:40]!r} is not a number") from None
    if not number.is_finite():
        raise AlertFormatError(name, "must be a finite number")
    return number


def _positive(value: Any, name: str) -> Decimal:
    number = _decimal(value, name)
    if number <= 0:
        raise AlertFormatError(name, "must be greater than zero")
    return number


def _parse_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{10,13}", text):
            seconds = int(text) / (1000 if len(text) == 13 else 1)
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AlertFormatError("timenow", f"{text[:40]!r} is not a time (ISO 8601 like 2026-01-02T15:04:05Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
