"""The paper broker persisted in the tenant's database (``PaperAccountState`` + ``PaperOrder``).

Each write runs in one transaction that locks the account's state row, so concurrent workers
placing orders on the same paper account serialize instead of overwriting each other's cash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from brokers.core.base import OrderGuard
from brokers.core.errors import BrokerError, InsufficientFunds, InvalidOrder, OrderNotFound
from brokers.core.models import (
    Balance,
    Fill,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)
from brokers.core.paper import (
    Bar,
    PaperBroker,
    PaperEngine,
    PaperState,
    PriceSource,
    Quote,
    _symbol_from_dict,
    _symbol_to_dict,
)
from brokers.core.symbols import NormalizedSymbol, parse_symbol
from brokers.models import BrokerAccount, PaperAccountState, PaperOrder
from fourpass.sql import PUBLIC_SCHEMA, fetch_models, insert_models, prepared_cursor, table, update_model

OPEN_STATUSES = [s.value for s in OrderStatus if not s.is_terminal]
DEFAULT_PAPER_CASH = {"USD": "100000", "USDT": "100000", "TWD": "1000000"}


def latest_bar_quote(symbol: NormalizedSymbol) -> Quote | None:
    """The close of the most recent stored bar of ``symbol`` (any timeframe) as the paper price."""
    from backtests.marketdata.models import MarketSeries, OHLCVBar

    with prepared_cursor() as cursor:  # read for every paper order
        cursor.execute(
            f"SELECT bar.close, bar.time FROM {table(PUBLIC_SCHEMA, OHLCVBar)} AS bar "  # noqa: S608 (Django names)
            f"JOIN {table(PUBLIC_SCHEMA, MarketSeries)} AS series ON bar.series_id = series.id "
            "WHERE series.symbol = %s ORDER BY bar.time DESC LIMIT 1", [str(symbol)], prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    close, time = row
    return Quote(last=Decimal(str(close)), timestamp=time)


def initial_state(cash: dict[str, str] | None = None) -> dict:
    return PaperState(cash={k: Decimal(v) for k, v in (cash or DEFAULT_PAPER_CASH).items()}).to_dict()


def _row_to_result(row: PaperOrder) -> OrderResult:
    return OrderResult(
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=_symbol_from_dict(row.symbol_data),
        side=Side(row.side),
        order_type=OrderType(row.order_type),
        status=OrderStatus(row.status),
        quantity=row.quantity,
        filled_quantity=row.filled_quantity,
        average_price=row.average_price,
        price=row.price,
        stop_price=row.stop_price,
        time_in_force=TimeInForce(row.time_in_force),
        reduce_only=row.reduce_only,
        fee=row.fee,
        fills=[
            Fill(
                f["id"], Decimal(f["price"]), Decimal(f["quantity"]), Decimal(f["fee"]), f["currency"],
                dt.datetime.fromisoformat(f["time"]) if f.get("time") else None,
            )
            for f in row.fills
        ],
        reject_reason=row.reject_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        raw=row.trigger_state or None,
    )


def _result_fields(result: OrderResult) -> dict:
    return {
        "broker_order_id": result.broker_order_id,
        "symbol": str(result.symbol),
        "symbol_data": _symbol_to_dict(result.symbol),
        "side": result.side.value,
        "order_type": result.order_type.value,
        "status": result.status.value,
        "time_in_force": result.time_in_force.value,
        "reduce_only": result.reduce_only,
        "quantity": result.quantity,
        "filled_quantity": result.filled_quantity,
        "price": result.price,
        "stop_price": result.stop_price,
        "average_price": result.average_price,
        "fee": result.fee,
        "fills": [
            {
                "id": f.fill_id, "price": str(f.price), "quantity": str(f.quantity), "fee": str(f.fee),
                "currency": f.fee_currency, "time": f.timestamp.isoformat() if f.timestamp else None,
            }
            for f in result.fills
        ],
        "trigger_state": result.raw if isinstance(result.raw, str) else "",
        "reject_reason": result.reject_reason,
        "created_at": result.created_at,
        "updated_at": result.updated_at,
    }


class _ShortCircuit(Exception):
    def __init__(self, result: OrderResult):
        self.result = result


class DbPaperBroker(PaperBroker):
    def __init__(self, account: BrokerAccount, *, price_source: PriceSource | None = None, guards: list[OrderGuard] | None = None):
        options = account.settings or {}
        self._price_source = price_source or latest_bar_quote
        self._quotes: dict[str, Quote | None] | None = None
        engine = PaperEngine(
            price_source=self._quote,
            slippage_bps=Decimal(str(options.get("slippage_bps", 0))),
            fee_bps=Decimal(str(options.get("fee_bps", 0))),
            leverage=Decimal(str(options.get("leverage", 1))),
            allow_short=bool(options.get("allow_short", False)),
        )
        super().__init__(engine, guards=guards)
        self.account = account

    def _quote(self, symbol: NormalizedSymbol) -> Quote | None:
        if self._quotes is None:
            return self._price_source(symbol)
        key = str(symbol)
        if key not in self._quotes:
            self._quotes[key] = self._price_source(symbol)
        return self._quotes[key]

    @contextmanager
    def _one_price_per_symbol(self) -> Iterator[None]:
        """While placing orders, normalising and filling them read the price once (and see the same one)."""
        self._quotes = {}
        try:
            yield
        finally:
            self._quotes = None

    def place_order(self, request: OrderRequest) -> OrderResult:
        with self._one_price_per_symbol():
            return super().place_order(request)

    # ------------------------------------------------------------------ persistence
    def _load(
        self, *, lock: bool, also: list[str] | None = None, with_open: bool = False
    ) -> tuple[PaperAccountState, dict[str, OrderResult]]:
        """Load cash/positions into the engine, plus the resting orders when ``with_open`` (needed to
        match them against a bar or quote; a new submission does not need them). ``also``: client ids
        to fetch whatever their status (to answer retries); returned as the second item."""
        state_row = self._state_row(lock=lock)
        state = PaperState.from_dict(state_row.state)
        self.engine.state = state
        known: dict[str, OrderResult] = {}
        if not with_open and not also:
            return state_row, known
        # read for every paper order: one prepared statement
        where = "account_id = %s AND (client_order_id = ANY(%s)" + (" OR status = ANY(%s))" if with_open else ")")
        params = [self.account.pk, list(also or []), *([OPEN_STATUSES] if with_open else [])]
        for row in fetch_models(PaperOrder, connection.schema_name, where, params):
            result = _row_to_result(row)
            if not result.is_terminal:
                state.orders[row.client_order_id] = result
            known[row.client_order_id] = result
        return state_row, known

    def _state_row(self, *, lock: bool) -> PaperAccountState:
        """The account's state row (created on first use), locked for the transaction when `lock`. A prepared
        statement: it is read for every paper order, and twice when the order needs the position first."""
        found = fetch_models(PaperAccountState, connection.schema_name,
                             f"account_id = %s{' FOR UPDATE' if lock else ''}", [self.account.pk])
        if found:
            return found[0]
        rows = PaperAccountState.objects.select_for_update() if lock else PaperAccountState.objects
        return rows.get_or_create(account_id=self.account.pk, defaults={"state": initial_state()})[0]

    def _save(self, state_row: PaperAccountState, orders: list[OrderResult], new: set[str]) -> None:
        state_row.state = self.engine.state.to_dict()
        state_row.updated_at = timezone.now()
        update_model(state_row, connection.schema_name, ("state", "updated_at"))
        created = [
            PaperOrder(account_id=self.account.pk, client_order_id=r.client_order_id, **_result_fields(r))
            for r in orders
            if r.client_order_id in new
        ]
        insert_models(created, connection.schema_name)
        for result in orders:
            if result.client_order_id not in new:
                PaperOrder.objects.filter(account_id=self.account.pk, client_order_id=result.client_order_id).update(
                    **_result_fields(result)
                )

    # ------------------------------------------------------------------ BrokerService
    def _send_order(self, request: OrderRequest) -> OrderResult:
        [(result, refusal)] = self._submit_batch([request])
        if refusal is not None:
            raise refusal
        return result

    def _submit_batch(self, requests: list[OrderRequest]) -> list[tuple[OrderResult, Exception | None]]:
        """Submit several orders in ONE transaction (one lock, one state write, one bulk insert)."""
        outcomes: list[tuple[OrderResult, Exception | None]] = []
        with transaction.atomic():
            state_row, known = self._load(lock=True, also=[r.client_order_id for r in requests])
            new: set[str] = set()
            results = []
            for request in requests:
                existing = known.get(request.client_order_id)
                if existing is not None:
                    outcomes.append((existing, None))
                    continue
                refusal = None
                try:
                    result = self.engine.submit(request)
                except (InvalidOrder, InsufficientFunds) as error:
                    refusal = error
                    result = self.engine.state.orders[request.client_order_id]
                known[request.client_order_id] = result
                new.add(request.client_order_id)
                results.append(result)
                outcomes.append((result, refusal))
            self._save(state_row, results, new=new)
        return outcomes

    def place_orders(self, requests: list[OrderRequest]) -> list[OrderResult | Exception]:
        """Place a burst of orders on this paper account in one transaction (e.g. one webhook alert fanned
        out to many symbols). Each item is the order's result, or the error that refused it."""
        with self._one_price_per_symbol():
            return self._place_orders(requests)

    def _place_orders(self, requests: list[OrderRequest]) -> list[OrderResult | Exception]:
        prepared: list[OrderRequest] = []
        answers: list[OrderResult | Exception | None] = []
        for request in requests:
            try:
                request = self.prepare_order(request)
                for guard in self.guards:
                    short_circuit = guard(request, self)
                    if short_circuit is not None:
                        raise _ShortCircuit(short_circuit)
            except _ShortCircuit as queued:
                answers.append(self._record(queued.result))
                continue
            except (InvalidOrder, InsufficientFunds, BrokerError) as error:
                answers.append(error)
                continue
            prepared.append(request)
            answers.append(None)
        outcomes = iter(self._submit_batch(prepared)) if prepared else iter(())
        final: list[OrderResult | Exception] = []
        for answer in answers:
            if answer is None:
                result, refusal = next(outcomes)
                self._record(result)
                final.append(refusal if refusal is not None else result)
            else:
                final.append(answer)
        return final

    def _cancel(self, *, client_order_id, broker_order_id, symbol) -> OrderResult:
        if client_order_id is None:
            client_order_id = self.get_order(broker_order_id=broker_order_id).client_order_id
        with transaction.atomic():
            state_row, known = self._load(lock=True, also=[client_order_id])
            current = known.get(client_order_id)
            if current is None:
                raise OrderNotFound(f"paper order {client_order_id} not found")
            if current.is_terminal:
                return current
            result = self.engine.cancel(current.client_order_id)
            self._save(state_row, [result], new=set())
            return result

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None) -> OrderResult:
        rows = PaperOrder.objects.filter(account_id=self.account.pk)
        row = (
            rows.filter(client_order_id=client_order_id).first()
            if client_order_id
            else rows.filter(broker_order_id=broker_order_id).first()
        )
        if row is None:
            raise OrderNotFound(f"paper order {client_order_id or broker_order_id} not found")
        return _row_to_result(row)

    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]:
        rows = PaperOrder.objects.filter(account_id=self.account.pk, status__in=OPEN_STATUSES)
        if symbol is not None:
            rows = rows.filter(symbol=str(symbol))
        return [_row_to_result(row) for row in rows]

    def positions(self) -> list[Position]:
        self._load(lock=False)
        return super().positions()

    def balances(self) -> list[Balance]:
        self._load(lock=False)
        return super().balances()

    def process_bar(self, symbol: NormalizedSymbol | str, bar: Bar) -> list[OrderResult]:
        symbol = parse_symbol(symbol)
        with transaction.atomic():
            state_row, _ = self._load(lock=True, with_open=True)
            changed = self.engine.process_bar(symbol, bar)
            self._save(state_row, changed, new=set())
        return [self._record(o) for o in changed]

    def process_quote(self, symbol: NormalizedSymbol | str, quote: Quote) -> list[OrderResult]:
        symbol = parse_symbol(symbol)
        with transaction.atomic():
            state_row, _ = self._load(lock=True, with_open=True)
            changed = self.engine.process_quote(symbol, quote)
            self._save(state_row, changed, new=set())
        return [self._record(o) for o in changed]
