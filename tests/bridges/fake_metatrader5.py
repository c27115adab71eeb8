"""A stand-in for the `MetaTrader5` package (Windows-only), with the same call shapes and namedtuple results,
so the MT5 backend's worker process, constant resolution, tag look-up and return-code handling run on Linux.
It models one trade server account; state lives in the worker process, as with the real package."""

from __future__ import annotations

import time
from collections import namedtuple

TRADE_ACTION_DEAL, TRADE_ACTION_PENDING, TRADE_ACTION_REMOVE = 1, 5, 8
ORDER_TYPE_BUY, ORDER_TYPE_SELL, ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_SELL_LIMIT = 0, 1, 2, 3
ORDER_TYPE_BUY_STOP, ORDER_TYPE_SELL_STOP, ORDER_TYPE_BUY_STOP_LIMIT, ORDER_TYPE_SELL_STOP_LIMIT = 4, 5, 6, 7
ORDER_FILLING_FOK, ORDER_FILLING_IOC, ORDER_FILLING_RETURN = 0, 1, 2
ORDER_TIME_GTC, ORDER_TIME_DAY = 0, 1
ORDER_STATE_PLACED, ORDER_STATE_CANCELED, ORDER_STATE_FILLED = 1, 2, 4

TradeOrder = namedtuple("TradeOrder", "ticket time_setup time_done type state magic position_id volume_initial "
                        "volume_current price_open symbol comment")
TradeDeal = namedtuple("TradeDeal", "ticket order time type volume price commission profit symbol comment position_id")
TradePosition = namedtuple("TradePosition", "ticket type volume price_open price_current profit symbol")
OrderSendResult = namedtuple("OrderSendResult", "retcode deal order volume price bid ask comment request_id")
AccountInfo = namedtuple("AccountInfo", "login leverage trade_allowed balance equity margin margin_free currency")
SymbolInfo = namedtuple("SymbolInfo", "name visible digits point trade_contract_size volume_min volume_max "
                        "volume_step trade_tick_size bid ask currency_base currency_profit description trade_mode filling_mode")
Tick = namedtuple("Tick", "time bid ask last volume")
TerminalInfo = namedtuple("TerminalInfo", "connected trade_allowed path")

_state: dict = {"initialized": False, "orders": [], "history": [], "deals": [], "ticket": 5000, "error": (1, "Success")}
_EURUSD = SymbolInfo("EURUSD", True, 5, 0.00001, 100000.0, 0.01, 50.0, 0.01, 0.00001, 1.085, 1.0851, "EUR", "USD",
                     "Euro vs US Dollar", 4, 1)  # this broker allows FOK only


def initialize(path=None, login=None, password=None, server=None, portable=False, timeout=None):
    if not portable or not str(path).endswith("terminal64.exe"):
        _state["error"] = (-2, "Invalid arguments")
        return False
    if password != "demo-pass":
        _state["error"] = (-6, "Terminal: Authorization failed")
        return False
    _state.update(initialized=True, login=login, path=path)
    return True


def shutdown():
    _state["initialized"] = False
    return True


def last_error():
    return _state["error"]


def terminal_info():
    return TerminalInfo(_state["initialized"], True, _state.get("path", ""))


def symbol_info(symbol):
    return _EURUSD if symbol == "EURUSD" else None


def symbols_get():
    return (_EURUSD,)


def symbol_info_tick(symbol):
    return Tick(int(time.time()), _EURUSD.bid, _EURUSD.ask, 0.0, 0) if symbol == "EURUSD" else None


def _next_ticket():
    _state["ticket"] += 1
    return _state["ticket"]


def order_send(request):
    now = int(time.time())
    if request["action"] == TRADE_ACTION_REMOVE:
        for order in list(_state["orders"]):
            if order.ticket == request["order"]:
                _state["orders"].remove(order)
                _state["history"].append(order._replace(state=ORDER_STATE_CANCELED, time_done=now))
                return OrderSendResult(10009, 0, order.ticket, 0.0, 0.0, 0.0, 0.0, "Request executed", 1)
        return OrderSendResult(10013, 0, 0, 0.0, 0.0, 0.0, 0.0, "Invalid request", 1)
    if request["action"] == TRADE_ACTION_DEAL and request["type_filling"] != ORDER_FILLING_FOK:
        return OrderSendResult(10030, 0, 0, 0.0, 0.0, 0.0, 0.0, "Unsupported filling mode", 1)
    volume = request["volume"]
    if round(volume / _EURUSD.volume_step, 6) % 1 or not _EURUSD.volume_min <= volume <= _EURUSD.volume_max:
        return OrderSendResult(10014, 0, 0, 0.0, 0.0, 0.0, 0.0, "Invalid volume", 1)
    if volume > 20:
        return OrderSendResult(10019, 0, 0, 0.0, 0.0, 0.0, 0.0, "No money", 1)
    ticket = _next_ticket()
    if request["action"] == TRADE_ACTION_DEAL:
        price = _EURUSD.ask if request["type"] == ORDER_TYPE_BUY else _EURUSD.bid
        order = TradeOrder(ticket, now, now, request["type"], ORDER_STATE_FILLED, request["magic"], ticket, volume,
                           0.0, price, request["symbol"], request["comment"])
        _state["history"].append(order)
        deal = TradeDeal(_next_ticket(), ticket, now, request["type"], volume, price, -0.7, 0.0, request["symbol"],
                         request["comment"], ticket)
        _state["deals"].append(deal)
        return OrderSendResult(10009, deal.ticket, ticket, volume, price, _EURUSD.bid, _EURUSD.ask, "Request executed", 1)
    order = TradeOrder(ticket, now, 0, request["type"], ORDER_STATE_PLACED, request["magic"], 0, volume, volume,
                       request["price"], request["symbol"], request["comment"])
    _state["orders"].append(order)
    return OrderSendResult(10008, 0, ticket, volume, request["price"], _EURUSD.bid, _EURUSD.ask, "Request placed", 1)


def orders_get():
    return tuple(_state["orders"])


def history_orders_get(date_from, date_to):
    return tuple(_state["history"])


def history_deals_get(position=None):
    return tuple(deal for deal in _state["deals"] if deal.position_id == position)


def positions_get():
    net = sum(deal.volume if deal.type == ORDER_TYPE_BUY else -deal.volume for deal in _state["deals"])
    if not net:
        return ()
    kind = 0 if net > 0 else 1
    return (TradePosition(1, kind, abs(net), _EURUSD.ask, _EURUSD.bid, 0.0, "EURUSD"),)


def account_info():
    return AccountInfo(_state.get("login", 0), 100, True, 10000.0, 10000.0, 0.0, 10000.0, "USD")
