"""A stand-in for ``sj.Shioaji`` at the SDK object boundary: the same method signatures, REAL
``sj.Stock``/``sj.Future`` contracts and ``sj`` enums, and Trade objects shaped like the SDK's
(``Trade.contract/order/status``, ``OrderStatusInfo.deals``). The SDK's own Trade classes cannot be
instantiated from Python, hence attribute namespaces with the same fields.

Order callbacks are queued and delivered by ``deliver_events()`` (the real SDK pushes them from its
own thread after ``place_order`` has returned); payload dicts follow shioaji's OrderEvent TypedDicts.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from decimal import Decimal
from types import SimpleNamespace

import shioaji as sj

from tests.brokers.fake_exchanges.server import FakeOrder, Venue, VenueError

TAIPEI = dt.timezone(dt.timedelta(hours=8))
REJECT_MESSAGES = {
    "insufficient": "餘額不足 insufficient balance",
    "invalid": "價格超過漲跌停 price outside limits",
    "precision": "委託價格不符升降單位 price tick invalid",
    "min_notional": "委託數量錯誤 quantity invalid",
    "duplicate": "重複委託 duplicate",
    "not_found": "查無委託 order not found",
    "closed": "非交易時間 market closed",
}


class _Contracts:
    def __init__(self, venue: Venue):
        self.venue = venue

    @property
    def Stocks(self):
        return {m.native: sj.Stock(exchange="TSE", code=m.native) for m in self.venue.markets.values() if m.kind == "stock"}

    @property
    def Futures(self):
        return {m.native: sj.Future(code=m.native) for m in self.venue.markets.values() if m.kind == "future"}


class FakeShioajiApi:
    def __init__(self, venue: Venue, *, api_key: str = "sj-key", secret_key: str = "sj-secret"):
        self.venue = venue
        self._keys = (api_key, secret_key)
        self.Contracts = _Contracts(venue)
        self.stock_account = None
        self.futopt_account = None
        self.callback = None
        self.trades: dict[str, SimpleNamespace] = {}
        self.events: list[tuple] = []
        self.lose_next = 0
        self.raise_next: list[Exception] = []
        self.reject_next: list[str] = []
        self.seq = itertools.count(1)
        self.calls: list[str] = []

    # --- session -------------------------------------------------------------------------------
    def login(self, api_key, secret_key, subscribe_trade=True, receive_window=30000, force_refresh=False):
        self.calls.append("login")
        if (api_key, secret_key) != self._keys:
            raise sj.TokenError("Token is invalid or expired")
        self.stock_account = SimpleNamespace(account_type="S", account_id="0001234", broker_id="9A95", signed=True)
        self.futopt_account = SimpleNamespace(account_type="F", account_id="7654321", broker_id="F002000", signed=True)
        return [self.stock_account, self.futopt_account]

    def activate_ca(self, ca_path, ca_passwd, person_id=None):
        return True

    def set_order_callback(self, callback):
        self.callback = callback

    # --- orders --------------------------------------------------------------------------------
    def place_order(self, contract, order, timeout=30000, cb=None):
        self.calls.append("place_order")
        if not isinstance(order, sj.StockOrder | sj.FuturesOrder):
            raise sj.ShioajiTypeError("order must be StockOrder or FuturesOrder")
        if self.raise_next:
            raise self.raise_next.pop(0)
        futures = isinstance(order, sj.FuturesOrder)
        lot = None if futures else order.order_lot.value
        per_unit = 1000 if lot in ("Common", "BlockTrade") else 1
        market = order.price_type.value in ("MKT", "MKP")
        order_id = f"{next(self.seq):08x}"
        trade = SimpleNamespace(
            contract=contract,
            order=SimpleNamespace(
                id=order_id, seqno=f"{int(order_id, 16):06d}", ordno=f"W{int(order_id, 16):04d}", action=order.action,
                price=order.price, quantity=order.quantity, time_in_force=order.time_in_force,
                order_type=order.time_in_force, price_type=sj.PriceType(order.price_type.value),
                custom_field=order.custom_field, account=self.futopt_account if futures else self.stock_account,
                daytrade_short=None if futures else order.daytrade_short,
                order_cond=None if futures else order.order_cond, order_lot=None if futures else order.order_lot,
                octype=order.octype if futures else None,
            ),
            status=SimpleNamespace(
                id=order_id, status=sj.OrderStatus("PendingSubmit"), status_code="", web_id="137",
                order_datetime=dt.datetime.now(TAIPEI), msg="", modified_time=None, modified_price=0.0,
                order_quantity=order.quantity, deal_quantity=0, cancel_quantity=0, deals=[],
            ),
            per_unit=per_unit,
            venue_order=None,
        )
        self.trades[order_id] = trade
        if self.reject_next:
            self._reject(trade, REJECT_MESSAGES[self.reject_next.pop(0)])
        else:
            try:
                venue_order = self.venue.place(
                    contract.code, order.action.value.lower(), "market" if market else "limit",
                    Decimal(order.quantity * per_unit), None if market else Decimal(str(order.price)),
                    order_id, tif=order.time_in_force.value,
                )
            except VenueError as error:
                self._reject(trade, REJECT_MESSAGES[error.kind])
            else:
                trade.venue_order = venue_order
                self._sync(trade, new=True)
        if self.lose_next:
            self.lose_next -= 1
            raise sj.OrderOutcomeUnknownError("order written upstream but no acknowledgement")
        return trade

    def cancel_order(self, trade, timeout=30000, cb=None):
        self.calls.append("cancel_order")
        venue_order = trade.venue_order
        self.venue.cancel(venue_order)
        self._sync(trade)
        self._order_event(trade, "Cancel")
        return trade

    def update_status(self, account=None, *, trade=None, timeout=30000, cb=None):
        self.calls.append("update_status")
        for item in self.trades.values():
            if item.venue_order is not None:
                self._sync(item)

    def list_trades(self):
        return list(self.trades.values())

    # --- portfolio -----------------------------------------------------------------------------
    def list_positions(self, account=None, unit=None, timeout=30000, cb=None):
        futures = account is self.futopt_account
        rows = []
        for market in self.venue.markets.values():
            if (market.kind == "future") != futures:
                continue
            if futures:
                qty, entry = self.venue.positions.get(market.native, (Decimal(0), Decimal(0)))
            else:
                qty, entry = self.venue.balances.get(market.native, Decimal(0)), market.price
            if qty:
                rows.append(SimpleNamespace(
                    id=0, code=market.native, direction=sj.Action.Buy if qty > 0 else sj.Action.Sell,
                    quantity=int(abs(qty)), price=float(entry), last_price=float(market.price), pnl=0.0,
                ))
        return rows

    def account_balance(self, account=None, timeout=30000, cb=None):
        return SimpleNamespace(acc_balance=float(self.venue.balances.get("TWD", 0)), date="2026-11-27", errmsg="")

    def margin(self, account=None, timeout=30000, cb=None):
        cash = float(self.venue.balances.get("TWD-F", 0))
        return SimpleNamespace(available_margin=cash, equity_amount=cash)

    # --- test hooks ----------------------------------------------------------------------------
    def trade_through(self, trade_id: str) -> None:
        trade = self.trades[trade_id]
        self.venue.fill_open(trade.venue_order.id)
        self._sync(trade)

    def deliver_events(self) -> None:
        while self.events:
            state, payload = self.events.pop(0)
            if self.callback is not None:
                self.callback(state, payload)

    # --- internals -----------------------------------------------------------------------------
    def _reject(self, trade, message: str) -> None:
        trade.status.status = sj.OrderStatus("Failed")
        trade.status.msg = message
        trade.status.status_code = "88"
        self._order_event(trade, "New", op_code="88", op_msg=message)

    def _sync(self, trade, *, new: bool = False) -> None:
        """Copy the venue's state into the Trade and queue deal events for new fills."""
        venue_order: FakeOrder = trade.venue_order
        per_unit = trade.per_unit
        filled_units = int(venue_order.filled / per_unit)
        if new:
            self._order_event(trade, "New")
        while trade.status.deal_quantity < filled_units:
            quantity = filled_units - trade.status.deal_quantity
            exchange_seq = f"{next(self.seq):06d}"
            deal = SimpleNamespace(seq=exchange_seq, price=float(venue_order.avg_price), quantity=quantity, ts=time.time())
            trade.status.deals.append(deal)
            trade.status.deal_quantity += quantity
            self._deal_event(trade, deal)
        if venue_order.status == "filled":
            trade.status.status = sj.OrderStatus("Filled")
        elif venue_order.status == "cancelled":
            trade.status.status = sj.OrderStatus("Cancelled")
            trade.status.cancel_quantity = trade.order.quantity - trade.status.deal_quantity
        elif trade.status.deal_quantity:
            trade.status.status = sj.OrderStatus("PartFilled")
        else:
            trade.status.status = sj.OrderStatus("Submitted")

    def _order_event(self, trade, op_type: str, op_code: str = "00", op_msg: str = "") -> None:
        order = trade.order
        futures = order.octype is not None
        state = sj.OrderState.FuturesOrder if futures else sj.OrderState.StockOrder
        detail = {
            "id": order.id, "seqno": order.seqno, "ordno": order.ordno, "account": {"account_type": "F" if futures else "S"},
            "action": order.action.value, "price": order.price, "quantity": order.quantity,
            "time_in_force": order.time_in_force.value, "order_type": order.time_in_force.value,
            "price_type": order.price_type.value,
        }
        if futures:
            detail |= {"market_type": "Day", "oc_type": order.octype.value, "subaccount": "", "combo": False}
        else:
            detail |= {"order_cond": order.order_cond.value, "order_lot": order.order_lot.value, "custom_field": order.custom_field}
        payload = {
            "event_id": f"e{next(self.seq)}",
            "operation": {"op_type": op_type, "op_code": op_code, "op_msg": op_msg},
            "order": detail,
            "status": {"id": order.id, "exchange_ts": time.time(), "modified_price": 0.0,
                       "cancel_quantity": trade.status.cancel_quantity, "order_quantity": order.quantity, "web_id": "137"},
            "contract": {"code": trade.contract.code, "exchange": str(trade.contract.exchange.value)},
        }
        self.events.append((state, payload))

    def _deal_event(self, trade, deal) -> None:
        order = trade.order
        futures = order.octype is not None
        payload = {
            "event_id": f"e{next(self.seq)}", "trade_id": order.id, "seqno": order.seqno, "ordno": order.ordno,
            "exchange_seq": deal.seq, "broker_id": "9A95", "account_id": "0001234", "action": order.action.value,
            "code": trade.contract.code, "price": deal.price, "quantity": deal.quantity, "ts": deal.ts,
        }
        if futures:
            payload |= {"full_code": trade.contract.code, "subaccount": "", "security_type": "FUT",
                        "delivery_month": "", "strike_price": 0.0, "option_right": "Future", "market_type": "Day",
                        "combo": False}
        else:
            payload |= {"order_cond": order.order_cond.value, "order_lot": order.order_lot.value, "web_id": "137",
                        "custom_field": order.custom_field}
        self.events.append((sj.OrderState.FuturesDeal if futures else sj.OrderState.StockDeal, payload))
