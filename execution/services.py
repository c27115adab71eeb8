"""The execution core. Every signal source (TradingView webhook, native runner, manual) calls
``submit_signal(signal)``; per-account jobs (Dramatiq ``execution.actors.execute_account_job``) call
``execute_account``. Orders are idempotent by a client order id derived from the signal's idempotency key,
the account and the command index, so a retried or re-delivered job never places a second order.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.template.loader import render_to_string
from django.utils import timezone

from brokers.core.base import BrokerService
from brokers.core.errors import BrokerError, OrderNotFound, SymbolError
from brokers.core.models import OrderRequest, OrderResult, OrderStatus, OrderType, Side
from brokers.core.symbols import parse_tradingview
from fourpass.sql import fetch_models, model_from_row, prepared_cursor, table

from . import brokerage, live, risk
from .models import AccountExecution, AuditEvent, Fill, Order, OrderEvent, SignalRecord
from .signals import (
    AccountRoute,
    Action,
    Command,
    DriftPolicy,
    Signal,
    command_from_json,
    position_hint_from_json,
    route_from_json,
)
from .sizing import AccountFacts, OrderPlan, Skip, expected_drift, plan_order, resolve_symbol

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
ZERO = Decimal(0)
BROKER_STATE = {
    OrderStatus.QUEUED: Order.State.ACKNOWLEDGED,
    OrderStatus.PENDING: Order.State.SUBMITTED,
    OrderStatus.OPEN: Order.State.ACKNOWLEDGED,
    OrderStatus.PARTIALLY_FILLED: Order.State.PARTIALLY_FILLED,
    OrderStatus.FILLED: Order.State.FILLED,
    OrderStatus.CANCELLED: Order.State.CANCELLED,
    OrderStatus.REJECTED: Order.State.REJECTED,
    OrderStatus.EXPIRED: Order.State.EXPIRED,
}


class RetryLater(Exception):
    """A retryable broker failure; the job is re-run with back-off (bounded by MAX_ATTEMPTS)."""


# ----------------------------------------------------------------------------- ids and audit


def client_order_id_for(idempotency_key: str, account_id: int, command_index: int, suffix: str = "") -> str:
    """Deterministic, 32 alphanumeric characters (fits Binance, OKX, Bybit, Gate and Alpaca)."""
    digest = hashlib.sha256(f"{idempotency_key}|{account_id}|{command_index}|{suffix}".encode()).hexdigest()
    return f"fp{digest[:30]}"


def audit(
    stage: str,
    *,
    signal: SignalRecord | None = None,
    alert_id: int | None = None,
    account_id: int | None = None,
    order: Order | None = None,
    message: str = "",
    data: Any = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        signal=signal,
        alert_id=alert_id if alert_id is not None else (signal.alert_id if signal else None),
        broker_account_id=account_id,
        order=order,
        stage=stage,
        message=message[:500],
        data=_jsonable(data),
    )


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | dt.datetime | dt.date):
        return str(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def result_as_json(result: OrderResult) -> dict[str, Any]:
    return {
        "client_order_id": result.client_order_id,
        "broker_order_id": result.broker_order_id,
        "status": result.status.value,
        "quantity": str(result.quantity),
        "filled_quantity": str(result.filled_quantity),
        "average_price": None if result.average_price is None else str(result.average_price),
        "fee": str(result.fee),
        "reject_reason": result.reject_reason,
        "fills": [
            {"id": f.fill_id, "price": str(f.price), "quantity": str(f.quantity), "fee": str(f.fee)} for f in result.fills
        ],
    }


# ----------------------------------------------------------------------------- signals


def submit_signal(signal: Signal) -> SignalRecord:
    """Record the signal once (by idempotency key) and dispatch it, or park it for manual approval.

    Safe to call again with the same signal: the existing record is returned and nothing runs twice.
    """
    now = timezone.now()
    expires = now + signal.approval_expires_after if signal.requires_approval else None
    payload = signal.to_json()
    record = SignalRecord(owner_id=signal.owner_id, source=signal.source.value, idempotency_key=signal.idempotency_key,
                          binding_id=signal.binding_id, deployment_id=signal.deployment_id, alert_id=signal.alert_id,
                          payload=payload, approval_expires_at=expires, created_at=now)
    # equity shares need the brokers (and audit a failure against the record), so that dispatch runs after the
    # insert, as a re-dispatch would; every other signal is recorded already dispatched, with its jobs
    dispatch_now = not signal.requires_approval and (payload.get("allocation") or "per_account") != "equity"
    jobs: list[AccountExecution] = []
    if signal.requires_approval:
        record.status = SignalRecord.Status.AWAITING_APPROVAL
        stage, message = AuditEvent.Stage.AWAITING_APPROVAL, f"waiting for approval until {expires:%H:%M:%S} UTC"
    elif dispatch_now:
        record.status = SignalRecord.Status.DISPATCHED
        shares = _allocation_shares(record, list(signal.routes))
        jobs = [AccountExecution(signal=record, broker_account_id=route.account_id,
                                 allocation_share=shares.get(route.account_id), created_at=now, updated_at=now)
                for route in signal.routes]
        accounts = len({job.broker_account_id for job in jobs})  # one job per account: the unique constraint
        stage, message = AuditEvent.Stage.DISPATCHED, f"dispatched to {accounts} account(s)"
    else:
        record.status = SignalRecord.Status.RECEIVED
        stage = message = None
    if not _insert_signal(record, jobs, stage, message, now):
        existing = SignalRecord.objects.get(idempotency_key=signal.idempotency_key)
        if existing.status == SignalRecord.Status.RECEIVED:
            dispatch_signal(existing)  # a crash between create and dispatch: finish the job
        return existing
    if signal.requires_approval:
        _push_signal(record)
    elif dispatch_now:
        _enqueue_after_commit(list(dict.fromkeys(job.pk for job in jobs)))
    else:
        dispatch_signal(record)
    return record


def _insert_signal(record: SignalRecord, jobs: list[AccountExecution], stage: str | None, message: str | None,
                   now: dt.datetime) -> bool:
    """INSERT the record unless its idempotency key exists (then nothing is written and False is returned), with
    its jobs (in route order; a route's JSON is taken from the stored payload) and one audit row, in ONE
    statement. Sets the primary keys. No savepoint: a conflict is not an error, so the caller's transaction
    stays usable."""
    prep = SignalRecord._meta.get_field("payload").get_db_prep_save
    share = AccountExecution._meta.get_field("allocation_share").get_db_prep_save
    params = [
        record.owner_id, record.source, record.idempotency_key, record.binding_id, record.deployment_id,
        record.alert_id, prep(record.payload, connection), record.status, record.approval_expires_at, now,
        AccountExecution.Status.PENDING, now, now, [job.broker_account_id for job in jobs],
        [share(job.allocation_share, connection) for job in jobs],
        record.alert_id, stage, (message or "")[:500], now, stage is not None,
    ]
    with prepared_cursor() as cursor:
        cursor.execute(_insert_signal_sql(connection.schema_name), params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return False
    record.pk, job_ids, job_accounts = row
    record._state.adding = False
    by_account = dict(zip(job_accounts, job_ids, strict=True))
    routes = record.payload["routes"]
    for index, job in enumerate(jobs):
        job.pk = by_account[job.broker_account_id]
        job.route = routes[index]
        job._state.adding = False
    return True


@functools.cache
def _insert_signal_sql(schema: str) -> str:
    signals, jobs, audits = table(schema, SignalRecord), table(schema, AccountExecution), table(schema, AuditEvent)
    return f"""
WITH record AS (
    INSERT INTO {signals} (owner_id, source, idempotency_key, binding_id, deployment_id, alert_id, payload, status,
                           status_reason, approval_expires_at, decided_by_id, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', %s, NULL, %s)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, payload
), jobs AS (
    INSERT INTO {jobs} (signal_id, broker_account_id, route, status, reason, attempts, allocation_share,
                        created_at, updated_at)
    SELECT record.id, job.account_id, route.value, %s, '', 0, job.share, %s, %s
    FROM record
    CROSS JOIN LATERAL jsonb_array_elements(record.payload -> 'routes') WITH ORDINALITY AS route (value, n)
    JOIN unnest(%s::bigint[], %s::numeric[]) WITH ORDINALITY AS job (account_id, share, n) ON job.n = route.n
    ORDER BY route.n
    ON CONFLICT DO NOTHING
    RETURNING id, broker_account_id
), audit_row AS (
    INSERT INTO {audits} (signal_id, alert_id, broker_account_id, order_id, stage, message, data, at)
    SELECT record.id, %s, NULL, NULL, %s, %s, NULL, %s FROM record WHERE %s
)
SELECT record.id, ARRAY(SELECT id FROM jobs ORDER BY id), ARRAY(SELECT broker_account_id FROM jobs ORDER BY id)
FROM record"""  # noqa: S608 (identifiers from Django)


def approve_signal(record: SignalRecord, user) -> SignalRecord:
    with transaction.atomic():
        locked = SignalRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status != SignalRecord.Status.AWAITING_APPROVAL:
            return locked
        if locked.approval_expires_at and locked.approval_expires_at < timezone.now():
            return _expire(locked)
        locked.status = SignalRecord.Status.RECEIVED
        locked.decided_by = user
        locked.save(update_fields=["status", "decided_by"])
        audit(AuditEvent.Stage.APPROVED, signal=locked, message=f"approved by {user}")
    dispatch_signal(locked)
    return locked


def decline_signal(record: SignalRecord, user, reason: str = "declined") -> SignalRecord:
    with transaction.atomic():
        locked = SignalRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status != SignalRecord.Status.AWAITING_APPROVAL:
            return locked
        locked.status = SignalRecord.Status.REJECTED
        locked.status_reason = reason[:300]
        locked.decided_by = user
        locked.save(update_fields=["status", "status_reason", "decided_by"])
        audit(AuditEvent.Stage.DECLINED, signal=locked, message=f"declined by {user}: {reason}")
    return locked


def expire_approvals() -> int:
    expired = 0
    for record in SignalRecord.objects.filter(
        status=SignalRecord.Status.AWAITING_APPROVAL, approval_expires_at__lt=timezone.now()
    ):
        with transaction.atomic():
            locked = SignalRecord.objects.select_for_update().get(pk=record.pk)
            if locked.status == SignalRecord.Status.AWAITING_APPROVAL:
                _expire(locked)
                expired += 1
    return expired


def _expire(record: SignalRecord) -> SignalRecord:
    record.status = SignalRecord.Status.REJECTED
    record.status_reason = "approval expired"
    record.save(update_fields=["status", "status_reason"])
    audit(AuditEvent.Stage.EXPIRED, signal=record, message="approval window expired; not executed")
    return record


_CALLER_RUNS_JOBS: contextvars.ContextVar[bool] = contextvars.ContextVar("caller_runs_jobs", default=False)


@contextlib.contextmanager
def jobs_run_by_caller() -> Iterator[None]:
    """Signals dispatched inside this block do not queue their per-account jobs: the caller runs them itself
    right after the commit (the native runner's step). Queued copies would only find the jobs done, at the cost
    of a message each. Should the caller die in between, the jobs stay pending and housekeeping queues them."""
    token = _CALLER_RUNS_JOBS.set(True)
    try:
        yield
    finally:
        _CALLER_RUNS_JOBS.reset(token)


def dispatch_signal(record: SignalRecord) -> list[AccountExecution]:
    """Create one job per account route and enqueue them after commit (one account's failure is its own)."""
    routes = [route_from_json(r) for r in record.payload["routes"]]
    shares = _allocation_shares(record, routes)
    # one insert for every account (a re-dispatch after a crash keeps the jobs that already exist)
    AccountExecution.objects.bulk_create(
        [
            AccountExecution(signal=record, broker_account_id=route.account_id, route=route_json,
                             allocation_share=shares.get(route.account_id))
            for route, route_json in zip(routes, record.payload["routes"], strict=True)
        ],
        ignore_conflicts=True,
    )
    executions = list(AccountExecution.objects.filter(signal=record).order_by("id"))
    SignalRecord.objects.filter(pk=record.pk).update(status=SignalRecord.Status.DISPATCHED)
    audit(AuditEvent.Stage.DISPATCHED, signal=record, message=f"dispatched to {len(executions)} account(s)")
    _enqueue_after_commit(
        [e.pk for e in executions if e.status in (AccountExecution.Status.PENDING, AccountExecution.Status.RUNNING)])
    return executions


def _enqueue_after_commit(execution_ids: list[int]) -> None:
    if not _CALLER_RUNS_JOBS.get():
        schema = connection.schema_name
        transaction.on_commit(lambda: enqueue_executions(schema, execution_ids))


def enqueue_executions(schema: str, execution_ids: list[int]) -> None:
    from .actors import execute_account_job

    for execution_id in execution_ids:
        try:
            execute_account_job.send(schema, execution_id)
        except Exception:  # Redis down: the sweeper re-enqueues pending jobs
            logger.exception("could not enqueue execution %s; the sweeper will retry", execution_id)


def _allocation_shares(record: SignalRecord, routes: list[AccountRoute]) -> dict[int, Decimal]:
    mode = record.payload.get("allocation") or "per_account"
    if mode == "weights":
        total = sum((r.weight or ZERO for r in routes), ZERO)
        return {r.account_id: (r.weight or ZERO) / total for r in routes} if total > 0 else {}
    if mode == "equity":
        equities = {}
        for route in routes:
            try:
                equities[route.account_id] = account_equity(brokerage.broker_for(route.account_id), None) or ZERO
            except Exception as error:  # an unreachable account gets no share; the others still trade
                audit(AuditEvent.Stage.SKIPPED, signal=record, account_id=route.account_id,
                      message=f"equity unavailable for allocation: {error}")
                equities[route.account_id] = ZERO
        total = sum(equities.values(), ZERO)
        return {k: v / total for k, v in equities.items()} if total > 0 else {}
    return {}


# ----------------------------------------------------------------------------- per-account job


_FINISHED = (AccountExecution.Status.DONE, AccountExecution.Status.SKIPPED, AccountExecution.Status.FAILED)


def execute_account(execution_id: int) -> AccountExecution | None:
    """Carry out every command of the signal on one account, in order. Re-runnable at any point.

    One worker at a time per job: a session advisory lock, held from the claim to the finishing write. Not a
    transaction-scoped one: the job is not one transaction (the broker is called between its writes, and a
    transaction must not stay open across a network call), so the lock must outlive each statement's commit."""
    locked, execution = _claim(execution_id)
    if not locked:
        return None  # another worker is on it
    try:
        if execution is None:
            # no such job, or it is finished (or just was, by the worker that held the lock before us)
            found = fetch_models(AccountExecution, connection.schema_name, "id = %s", [execution_id])
            return found[0] if found else None
        return _execute_claimed(execution)
    finally:
        if execution is None or not getattr(execution, "_unlocked", False):  # not let go by its finishing write
            with prepared_cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(7001, %s)", [execution_id], prepare=True)


def _claim(execution_id: int) -> tuple[bool, AccountExecution | None]:
    """Take the job's lock and, if it is not finished, count the attempt and mark it running, reading the job
    and its signal (the commands and hints, not the routes of every other account: the bulk of the payload in a
    large fan-out; a read-only copy), in ONE statement. The update re-checks the job's status on the newest row
    version, so a worker that finished it and let go of the lock after this statement began is seen."""
    with prepared_cursor() as cursor:
        cursor.execute(_claim_sql(connection.schema_name),
                       [execution_id, AccountExecution.Status.RUNNING, timezone.now(), execution_id,
                        list(_FINISHED)], prepare=True)
        locked, *values = cursor.fetchone()
    if values[0] is None:
        return bool(locked), None
    execution = model_from_row(AccountExecution, values[:len(_JOB_FIELDS)])
    execution.signal = model_from_row(SignalRecord, values[len(_JOB_FIELDS):])
    return True, execution


_JOB_FIELDS = AccountExecution._meta.concrete_fields
_SIGNAL_FIELDS = SignalRecord._meta.concrete_fields


@functools.cache
def _claim_sql(schema: str) -> str:
    jobs, signals = table(schema, AccountExecution), table(schema, SignalRecord)
    job_columns = ", ".join(f'job."{field.column}"' for field in _JOB_FIELDS)
    signal_columns = ", ".join("record.payload - 'routes'" if field.name == "payload" else f'record."{field.column}"'
                               for field in _SIGNAL_FIELDS)
    return (
        "WITH claim AS MATERIALIZED (SELECT pg_try_advisory_lock(7001, %s) AS locked), "  # noqa: S608
        f"job AS (UPDATE {jobs} AS job SET attempts = job.attempts + 1, status = %s, updated_at = %s "
        "FROM claim WHERE claim.locked AND job.id = %s AND job.status <> ALL(%s::varchar[]) RETURNING job.*) "
        f"SELECT claim.locked, {job_columns}, {signal_columns} FROM claim LEFT JOIN job ON true "
        f"LEFT JOIN {signals} AS record ON record.id = job.signal_id"
    )


def _execute_claimed(execution: AccountExecution) -> AccountExecution:
    record = execution.signal
    route = route_from_json(execution.route)
    commands = [command_from_json(c) for c in record.payload["commands"]]
    try:
        account, service = brokerage.open_account(route.account_id)
        if account.owner_id != record.owner_id:
            service.close()
            return _finish_execution(execution, AccountExecution.Status.SKIPPED, "account belongs to another user")
    except brokerage.AccountUnavailable as error:
        return _finish_execution(execution, AccountExecution.Status.SKIPPED, str(error))
    except BrokerError as error:
        return _handle_broker_error(execution, error)
    placed = skipped = 0
    try:
        for index, command in enumerate(commands):
            outcome = _run_command(execution, record, route, service, index, command)
            placed += outcome == "placed"
            skipped += outcome == "skipped"
    except BrokerError as error:
        return _handle_broker_error(execution, error)
    finally:
        try:
            service.close()
        except Exception:
            logger.debug("closing broker service failed", exc_info=True)
    if placed == 0 and skipped:
        return _finish_execution(execution, AccountExecution.Status.SKIPPED, execution.reason or "all commands skipped")
    return _finish_execution(execution, AccountExecution.Status.DONE, execution.reason)


def _finish_execution(execution: AccountExecution, status: str, reason: str) -> AccountExecution:
    """The job's last write: its outcome, the signal closed if this was its last job, and the job's lock let go
    (the caller, ``execute_account``, holds it)."""
    execution.status = status
    execution.reason = (reason or "")[:500]
    execution.updated_at = timezone.now()
    schema = connection.schema_name
    with prepared_cursor() as cursor:
        cursor.execute(f"UPDATE {table(schema, AccountExecution)} SET status = %s, reason = %s, updated_at = %s "  # noqa: S608
                       "WHERE id = %s",
                       [status, execution.reason, execution.updated_at, execution.pk], prepare=True)
        # the last job to finish closes the signal; a separate statement (not a CTE of the one above), so it sees
        # every other job's committed status and two jobs finishing together cannot both miss the close. The lock
        # goes with it: the job's outcome is written (committed, outside a caller's transaction) by then
        cursor.execute(_close_signal_sql(schema),
                       [SignalRecord.Status.DONE, execution.signal_id, SignalRecord.Status.DISPATCHED,
                        execution.signal_id, list(_FINISHED), execution.pk], prepare=True)
        closed, _unlocked = cursor.fetchone()
    execution._unlocked = True
    if closed and execution.signal.deployment_id is not None:
        _signal_settled(execution.signal_id, execution.signal.deployment_id)
    return execution


@functools.cache
def _close_signal_sql(schema: str) -> str:
    jobs, signals = table(schema, AccountExecution), table(schema, SignalRecord)
    return (
        f"WITH closed AS (UPDATE {signals} SET status = %s WHERE id = %s AND status = %s AND NOT EXISTS ("  # noqa: S608
        f"SELECT 1 FROM {jobs} WHERE signal_id = %s AND status <> ALL(%s::varchar[])) RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM closed), pg_advisory_unlock(7001, %s)"
    )


def _signal_settled(signal_id: int, deployment_id: int) -> None:
    """A signal finished at every account: the native deployment waiting on it sends its next signal now."""
    from execution.native.services import on_signal_settled

    def settle() -> None:
        try:
            on_signal_settled(deployment_id)
        except Exception:  # the deployment's dispatch job and catch-up still pick the signal up
            logger.exception("settling deployment %s after signal %s failed", deployment_id, signal_id)

    transaction.on_commit(settle)


def _handle_broker_error(execution: AccountExecution, error: BrokerError) -> AccountExecution:
    if error.retryable and execution.attempts < MAX_ATTEMPTS:
        audit(AuditEvent.Stage.RETRY, signal=execution.signal, account_id=execution.broker_account_id,
              message=f"attempt {execution.attempts} failed ({type(error).__name__}: {error}); retrying")
        raise RetryLater(str(error)) from error
    for order in execution.orders.filter(state__in=[Order.State.NEW, Order.State.SUBMITTED]):
        transition(order, Order.State.FAILED, message=f"gave up after {execution.attempts} attempt(s): {error}")
    audit(AuditEvent.Stage.FAILED, signal=execution.signal, account_id=execution.broker_account_id,
          message=f"{type(error).__name__}: {error}")
    return _finish_execution(execution, AccountExecution.Status.FAILED, f"{type(error).__name__}: {error}")


def _run_command(
    execution: AccountExecution,
    record: SignalRecord,
    route: AccountRoute,
    service: BrokerService,
    index: int,
    command: Command,
) -> str:
    account_id = route.account_id
    client_id = client_order_id_for(record.idempotency_key, account_id, index)
    if execution.attempts > 1:  # a re-run: finish what an earlier attempt started, never decide twice
        order = Order.objects.filter(client_order_id=client_id).first()
        if order is not None:
            order._signal_ids = (record.pk, record.alert_id)
            return _resume(execution, order, service, command)
        if AuditEvent.objects.filter(signal=record, broker_account_id=account_id, stage=AuditEvent.Stage.SKIPPED,
                                     data__command=index).exists():
            return "skipped"
    if command.action is Action.CANCEL:
        cancelled = cancel_open_orders(record.owner_id, account_id, command.symbol, route, service)
        audit(AuditEvent.Stage.CANCELLED, signal=record, account_id=account_id,
              message=f"cancelled {cancelled} open order(s) in {command.symbol}", data={"command": index})
        return "placed"

    plan = _plan(record, route, service, index, command, execution)
    if isinstance(plan, Skip):
        audit(AuditEvent.Stage.SKIPPED, signal=record, account_id=account_id, message=plan.reason,
              data={"command": index})
        execution.reason = plan.reason
        return "skipped"
    block = risk.risk_block_reason(record.owner_id, account_id=account_id, symbol=plan.symbol,
                                   opens_position=not plan.reduce_only)
    if block:
        audit(AuditEvent.Stage.SKIPPED, signal=record, account_id=account_id, message=block, data={"command": index})
        execution.reason = block
        return "skipped"
    sized = AuditEvent(stage=AuditEvent.Stage.SIZED,
                       message=f"{plan.side} {plan.quantity.normalize():f} {plan.symbol} ({plan.note})"[:500],
                       data=_jsonable({"command": index, **asdict(plan)}))
    try:
        order = _open_order(
            execution, record, note=plan.note, sized=sized, broker_account_id=account_id, command_index=index,
            client_order_id=client_id, symbol=plan.symbol, side=plan.side, order_type=plan.order_type.value,
            quantity=plan.quantity, limit_price=plan.limit_price, stop_price=plan.stop_price,
            reduce_only=plan.reduce_only,
        )
    except IntegrityError:  # a concurrent run created it first
        order = Order.objects.get(client_order_id=client_id)
        return _resume(execution, order, service, command)
    _send(execution, order, service, first_send=True)
    _protective_orders(execution, record, order, service, command, index)
    return "placed"


def _open_order(execution: AccountExecution, record: SignalRecord, *, note: str, sized: AuditEvent | None = None,
                **fields: Any) -> Order:
    """Insert the order already marked submitted, with its `new` and `submitted` steps, in one statement; it is
    sent right after. A crash in between leaves a submitted order, which a re-run looks up at the broker by
    client order id before sending it again, so it is never placed twice. Raises IntegrityError when an order
    with this client order id exists."""
    now = timezone.now()
    order = Order(execution=execution, owner_id=record.owner_id, state=Order.State.SUBMITTED, created_at=now,
                  updated_at=now, **fields)
    order._signal_ids = (record.pk, record.alert_id)
    steps = [("", Order.State.NEW, note), (Order.State.NEW, Order.State.SUBMITTED, "sent to the broker")]
    values = [field.get_db_prep_save(getattr(order, field.attname), connection) for field in _ORDER_FIELDS]
    (order.pk, event_ids), = _write(_open_order_sql(connection.schema_name), values, order, steps, now,
                                    response_json=None, first_audits=[sized] if sized else [])
    order._state.adding = False
    _events_recorded(order, steps, event_ids, now, response_json=None)
    return order


def _plan(record, route, service, index, command, execution) -> OrderPlan | Skip:
    symbol = resolve_symbol(command.symbol, route)
    if isinstance(symbol, Skip):
        return symbol
    try:
        normalized = parse_tradingview(symbol)
    except SymbolError as error:
        return Skip(str(error))
    position = service.position_quantity(normalized)
    hint = position_hint_from_json(record.payload.get("position_hint"))
    policy = DriftPolicy(record.payload.get("drift_policy") or DriftPolicy.WARN)
    if index == 0:
        drift = expected_drift(hint, command, position)
        if drift:
            audit(AuditEvent.Stage.DRIFT, signal=record, account_id=route.account_id, message=drift,
                  data={"command": index, "policy": policy.value, "position": position})
            _note_drift(record, route.account_id, drift)
            if policy is DriftPolicy.SKIP:
                return Skip(f"position drift ({drift}); policy is skip")
    price = command.limit_price or command.reference_price
    sized_by_price = route.sizing.mode.value in ("fixed_cash", "percent_equity", "risk")
    if price is None and sized_by_price and command.action in (Action.BUY, Action.SELL):
        price = service.reference_price(normalized)
    needs_equity = route.sizing.mode.value in ("percent_equity", "risk")
    facts = AccountFacts(
        position=position,
        equity=account_equity(service, normalized.quote) if needs_equity else None,
        price=price,
        orders_today=risk.orders_today(route.account_id) if route.filters.max_orders_per_day is not None else 0,
        allocation_share=execution.allocation_share,
        now=timezone.now(),
    )
    return plan_order(command, route, facts, hint=hint, drift_policy=policy)


def _note_drift(record: SignalRecord, account_id: int, drift: str) -> None:
    if record.binding_id is None:
        return
    from webhooks.services import record_drift

    record_drift(record.binding_id, account_id, drift)


def account_equity(service: BrokerService, currency: str | None) -> Decimal | None:
    info = service.account_info()
    if info.equity is not None:
        return info.equity
    balances = service.balances()
    if currency:
        for balance in balances:
            if balance.asset.upper() == currency.upper():
                return balance.total
    return None


def _resume(execution: AccountExecution, order: Order, service: BrokerService, command: Command) -> str:
    """A job re-run finds its order: finish what the crashed/failed attempt left open."""
    if order.state == Order.State.NEW:
        _send(execution, order, service)
    elif order.state == Order.State.SUBMITTED:
        try:
            result = service.get_order(client_order_id=order.client_order_id, symbol=parse_tradingview(order.symbol))
        except OrderNotFound:
            _send(execution, order, service, resend=True)
        else:
            apply_result(order, result, message="found at the broker after an unknown outcome")
    elif order.state in (Order.State.ACKNOWLEDGED, Order.State.PARTIALLY_FILLED):
        try:  # a crash between two recorded steps: catch up with the broker now rather than at the next sync
            apply_result(order, service.get_order(client_order_id=order.client_order_id,
                                                  symbol=parse_tradingview(order.symbol)))
        except OrderNotFound:
            logger.warning("acknowledged order %s is unknown to the broker", order.client_order_id)
    return "placed"


def _request_for(order: Order) -> OrderRequest:
    return OrderRequest(
        symbol=parse_tradingview(order.symbol),
        side=Side(order.side),
        quantity=order.quantity,
        client_order_id=order.client_order_id,
        order_type=OrderType(order.order_type),
        price=order.limit_price,
        stop_price=order.stop_price,
        reduce_only=order.reduce_only,
    )


def _send(execution: AccountExecution, order: Order, service: BrokerService, *, first_send: bool = False,
          resend: bool = False) -> None:
    if order.state == Order.State.NEW:  # an order recorded as new by an earlier version: mark it first
        first_send = transition(order, Order.State.SUBMITTED, message="sent to the broker", push=False)
    elif resend:
        audit(AuditEvent.Stage.RETRY, signal=execution.signal, account_id=order.broker_account_id, order=order,
              message="not found at the broker; sending again with the same client order id")
    try:
        result = service.place_order(_request_for(order))
    except BrokerError as error:
        if error.retryable:
            raise  # outcome unknown: the order stays submitted; the job retries and looks it up first
        transition(order, Order.State.REJECTED, message=str(error), response={"error": type(error).__name__,
                                                                            "message": str(error)}, push=False)
        _push_order(order, insert=first_send)
        return
    apply_result(order, result, new_row=first_send)


def _protective_orders(execution, record, entry: Order, service, command: Command, index: int) -> None:
    """Take-profit and stop-loss as reduce-only orders sized to what the entry filled."""
    if command.take_profit is None and command.stop_loss is None:
        return
    entry.refresh_from_db()
    if entry.reduce_only or entry.filled_quantity <= 0:
        return
    exit_side = "sell" if entry.side == "buy" else "buy"
    legs = []
    if command.take_profit is not None:
        legs.append(("tp", OrderType.LIMIT, command.take_profit, None))
    if command.stop_loss is not None:
        legs.append(("sl", OrderType.STOP, None, command.stop_loss))
    for suffix, kind, limit, stop in legs:
        client_id = client_order_id_for(record.idempotency_key, entry.broker_account_id, index, suffix)
        try:
            order = _open_order(
                execution, record, note="take-profit" if suffix == "tp" else "stop-loss",
                broker_account_id=entry.broker_account_id, command_index=index, client_order_id=client_id,
                symbol=entry.symbol, side=exit_side, order_type=kind.value, quantity=entry.filled_quantity,
                limit_price=limit, stop_price=stop, reduce_only=True,
            )
        except IntegrityError:  # placed by an earlier or a concurrent attempt
            continue
        _send(execution, order, service, first_send=True)


def cancel_open_orders(owner_id: int, account_id: int, symbol: str, route: AccountRoute, service: BrokerService) -> int:
    resolved = resolve_symbol(symbol, route)
    target = resolved if isinstance(resolved, str) else symbol
    count = 0
    for order in Order.objects.filter(owner_id=owner_id, broker_account_id=account_id, symbol=target).exclude(
        state__in=Order.TERMINAL
    ).exclude(state=Order.State.NEW):
        try:
            result = service.cancel_order(client_order_id=order.client_order_id, symbol=parse_tradingview(order.symbol))
        except OrderNotFound:
            transition(order, Order.State.CANCELLED, message="not found at the broker when cancelling")
        else:
            apply_result(order, result, message="cancelled by signal")
        count += 1
    return count


# ----------------------------------------------------------------------------- order state


def transition(order: Order, to_state: str, *, message: str = "", response: Any = None, push: bool = True) -> bool:
    """Move the order to `to_state` if the state machine allows it, recording an OrderEvent and an audit step.

    The update is conditional on the state we read (compare-and-set), so a concurrent writer (order sync,
    a re-delivered job) can never apply the same change twice.
    """
    moved = _advance(order, [(to_state, message)], response=response)
    if moved and push:
        _push_order(order)
    return bool(moved)


def _advance(order: Order, targets: list[tuple[str, str]], *, response: Any = None,
             fields: dict[str, Any] | None = None, fills: list[Fill] | None = None) -> list[str]:
    """Book `fills` (those already booked are ignored), apply `fields` and walk the order through `targets`
    ((state, message), in order; steps the state machine does not allow from where the order is are left out)
    in ONE statement: a compare-and-set update of the row, then every step's OrderEvent and audit row. Returns
    the states entered."""
    fields = dict(fields or {})
    fills = list(fills or [])
    response_json = _jsonable(response)
    for _attempt in range(2):
        previous, path, state = order.state, [], order.state
        for target, message in targets:
            if target in Order.TRANSITIONS.get(state, frozenset()):
                path.append((state, target, message))
                state = target
        error = next((m[:500] for _f, t, m in reversed(path) if t in (Order.State.REJECTED, Order.State.FAILED)),
                     order.last_error)
        if not path and not fields and not fills:
            return []
        now = timezone.now()
        changes = {**fields, "updated_at": now}
        if path:
            changes.update(state=state, last_error=error)
        names = sorted(changes)
        values = [Order._meta.get_field(name).get_db_prep_save(changes[name], connection) for name in names]
        sql = _advance_sql(connection.schema_name, tuple(names), guarded=bool(path))
        params = [*values, order.pk, *([previous] if path else []), *_fill_arrays(order, fills)]
        rows = _write(sql, params, order, path, now, response_json=response_json)
        fills = []  # booked, whatever became of the update
        if rows:
            for name, value in fields.items():
                setattr(order, name, value)
            order.state, order.last_error = state, error
            _events_recorded(order, path, rows[0][1], now, response_json=response_json)
            return [to for _f, to, _m in path]
        # someone else moved it: re-read and decide again from the fresh state
        order.refresh_from_db(fields=["state", "last_error"])
    if fields:  # the state kept moving under us; the broker's ids and fills are still ours to record
        Order.objects.filter(pk=order.pk).update(updated_at=timezone.now(), **fields)
        for name, value in fields.items():
            setattr(order, name, value)
    return []


# ----------------------------------------------------------------------------- order rows in SQL
# An order's steps are written for every order, several times over its life, so they are prepared statements
# (one per schema and shape) rather than ORM calls: the ORM's compile and model plumbing cost more CPU than
# PostgreSQL spends on the writes. Each statement is atomic on its own; the row update is the compare-and-set.

_ORDER_FIELDS = [field for field in Order._meta.concrete_fields if not field.primary_key]
_STEP_ROWS = """
step_events AS (
    INSERT INTO {events} (order_id, from_state, to_state, message, broker_response, at)
    SELECT subject.id, step.from_state, step.to_state, step.message, %s::jsonb, %s
    FROM subject, unnest(%s::varchar[], %s::varchar[], %s::varchar[]) WITH ORDINALITY
        AS step (from_state, to_state, message, n)
    ORDER BY step.n
    RETURNING id
), step_audits AS (
    INSERT INTO {audits} (signal_id, alert_id, broker_account_id, order_id, stage, message, data, at)
    SELECT %s, %s, %s, subject.id, audit.stage, audit.message, audit.data, %s
    FROM subject, unnest(%s::varchar[], %s::varchar[], %s::jsonb[]) WITH ORDINALITY AS audit (stage, message, data, n)
    ORDER BY audit.n
)
SELECT subject.id, ARRAY(SELECT id FROM step_events ORDER BY id) FROM subject"""


@functools.cache
def _open_order_sql(schema: str) -> str:
    columns = ", ".join(f'"{field.column}"' for field in _ORDER_FIELDS)
    return (
        f"WITH subject AS (INSERT INTO {table(schema, Order)} ({columns}) "  # noqa: S608 (identifiers from Django)
        f"VALUES ({', '.join(['%s'] * len(_ORDER_FIELDS))}) RETURNING id),"
        + _STEP_ROWS.format(events=table(schema, OrderEvent), audits=table(schema, AuditEvent))
    )


@functools.cache
def _advance_sql(schema: str, names: tuple[str, ...], *, guarded: bool) -> str:
    columns = ", ".join(f'"{Order._meta.get_field(name).column}" = %s' for name in names)
    return (
        f"WITH subject AS (UPDATE {table(schema, Order)} SET {columns} "  # noqa: S608 (identifiers from Django)
        f"WHERE id = %s{' AND state = %s' if guarded else ''} RETURNING id), "
        f"booked AS (INSERT INTO {table(schema, Fill)} (order_id, fill_id, price, quantity, fee, fee_currency, "
        "filled_at) SELECT %s, * FROM unnest(%s::varchar[], %s::numeric[], %s::numeric[], %s::numeric[], "
        "%s::varchar[], %s::timestamptz[]) ON CONFLICT DO NOTHING),"
        + _STEP_ROWS.format(events=table(schema, OrderEvent), audits=table(schema, AuditEvent))
    )


def _fill_arrays(order: Order, fills: list[Fill]) -> list[Any]:
    return [order.pk, [f.fill_id for f in fills], [f.price for f in fills], [f.quantity for f in fills],
            [f.fee for f in fills], [f.fee_currency for f in fills], [f.filled_at for f in fills]]


def _write(sql: str, params: list[Any], order: Order, steps: list[tuple[str, str, str]], now: dt.datetime, *,
           response_json: Any, first_audits: list[AuditEvent] | None = None) -> list[tuple]:
    """Run an order statement with the step rows appended: each step's OrderEvent, and the audit rows (the
    caller's first ones, then one per step except the order's creation, which the caller audits as sized).
    `response_json`: the broker's response as ``_jsonable`` made it, stored with every step."""
    audits = [(a.stage, a.message, a.data) for a in first_audits or []]
    audits += [(after, (message or f"{before} → {after}")[:500], response_json)
               for before, after, message in steps if before]
    signal_id, alert_id = _signal_ids(order)
    dump = AuditEvent._meta.get_field("data").get_db_prep_save
    params = [
        *params,
        OrderEvent._meta.get_field("broker_response").get_db_prep_save(response_json, connection), now,
        [b for b, _a, _m in steps], [a for _b, a, _m in steps], [m[:500] for _b, _a, m in steps],
        signal_id, alert_id, order.broker_account_id, now,
        [stage for stage, _m, _d in audits], [message[:500] for _s, message, _d in audits],
        [dump(data, connection) for _s, _m, data in audits],
    ]
    # a statement is atomic on its own; inside a caller's transaction it gets a savepoint, so that a refusal
    # (IntegrityError: the client order id exists) leaves that transaction usable
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with scope, connection.wrap_database_errors, prepared_cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def _events_recorded(order: Order, steps: list[tuple[str, str, str]], event_ids: list[int], now: dt.datetime, *,
                     response_json: Any) -> None:
    """post_save for each written OrderEvent, as if saved one by one, so receivers (Web Push on fills) see every
    state change whichever way it was written."""
    for event_id, (before, after, message) in zip(event_ids, steps, strict=True):
        event = OrderEvent(pk=event_id, order=order, from_state=before, to_state=after, message=message[:500],
                           broker_response=response_json, at=now)
        event._state.adding = False
        post_save.send(sender=OrderEvent, instance=event, created=True, update_fields=None, raw=False,
                       using=event._state.db)


def _signal_ids(order: Order) -> tuple[int | None, int | None]:
    cached = getattr(order, "_signal_ids", None)
    if cached is None:
        cached = (None, None)
        if order.execution_id:
            cached = (
                AccountExecution.objects.filter(pk=order.execution_id)
                .values_list("signal_id", "signal__alert_id").first() or (None, None)
            )
        order._signal_ids = cached
    return cached


def apply_result(order: Order, result: OrderResult, *, message: str = "", new_row: bool = False) -> Order:
    """Bring our order in line with what the broker reported: ids, fills, state (stepwise, all recorded), in
    one statement (``_advance``)."""
    response = result_as_json(result)
    fields: dict[str, Any] = {}
    if result.broker_order_id and order.broker_order_id != result.broker_order_id:
        fields["broker_order_id"] = result.broker_order_id
    fills = [
        Fill(order_id=order.pk, fill_id=fill.fill_id or f"{result.broker_order_id}-{number}", price=fill.price,
             quantity=fill.quantity, fee=fill.fee, fee_currency=fill.fee_currency,
             filled_at=fill.timestamp or timezone.now())
        for number, fill in enumerate(result.fills, start=1)
    ]
    if not result.fills and result.filled_quantity > order.filled_quantity and result.average_price is not None:
        # brokers that report only cumulative fills: book the increment
        fills.append(Fill(order_id=order.pk, fill_id=f"{result.broker_order_id}-cum-{result.filled_quantity}",
                          price=result.average_price, quantity=result.filled_quantity - order.filled_quantity,
                          filled_at=timezone.now()))
    if result.filled_quantity != order.filled_quantity or result.average_price != order.average_price:
        fields["filled_quantity"] = result.filled_quantity
        fields["average_price"] = result.average_price
    if result.quantity and result.quantity != order.quantity:
        fields["quantity"] = result.quantity  # rounded to the instrument's grid by the broker layer
    target = BROKER_STATE[result.status]
    targets = []
    if order.state == Order.State.SUBMITTED and target in (
        Order.State.PARTIALLY_FILLED, Order.State.FILLED, Order.State.CANCELLED, Order.State.EXPIRED
    ):
        targets.append((Order.State.ACKNOWLEDGED, "accepted by the broker"))
    reached = targets[-1][0] if targets else order.state
    if target != reached or (target == Order.State.PARTIALLY_FILLED and "filled_quantity" in fields):
        targets.append((target, message or result.reject_reason))
    changed = _advance(order, targets, response=response, fields=fields, fills=fills)
    if changed or fields or new_row:
        _push_order(order, insert=new_row)
    return order


def sync_open_orders(limit: int = 500) -> int:
    """Poll the broker for our non-terminal orders (resting limits, stops) and record what changed."""
    changed = 0
    open_orders = Order.objects.exclude(state__in=Order.TERMINAL).exclude(state=Order.State.NEW).order_by("id")[:limit]
    by_account: dict[int, list[Order]] = {}
    for order in open_orders:
        by_account.setdefault(order.broker_account_id, []).append(order)
    for account_id, orders in by_account.items():
        try:
            service = brokerage.broker_for(account_id)
        except Exception:
            logger.warning("account %s unavailable for order sync", account_id, exc_info=True)
            continue
        for order in orders:
            try:
                result = service.get_order(client_order_id=order.client_order_id, symbol=parse_tradingview(order.symbol))
            except OrderNotFound:
                continue
            except BrokerError:
                logger.warning("order sync failed for %s", order.client_order_id, exc_info=True)
                continue
            before = (order.state, order.filled_quantity)
            apply_result(order, result)
            changed += before != (order.state, order.filled_quantity)
    return changed


def requeue_stuck_executions(older_than: dt.timedelta = dt.timedelta(seconds=60), limit: int = 1000) -> int:
    """Re-enqueue jobs a dead worker left behind (and signals dispatched before a crash). Idempotent.

    A re-enqueued job is stamped, so a long but healthy backlog is not re-enqueued on every sweep.
    """
    cutoff = timezone.now() - older_than
    for record in SignalRecord.objects.filter(status=SignalRecord.Status.RECEIVED, created_at__lt=cutoff)[:limit]:
        dispatch_signal(record)
    stuck = list(
        AccountExecution.objects.filter(
            status__in=[AccountExecution.Status.PENDING, AccountExecution.Status.RUNNING], updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:limit]
    )
    if stuck:
        AccountExecution.objects.filter(pk__in=stuck).update(updated_at=timezone.now())
        schema = connection.schema_name
        transaction.on_commit(lambda: enqueue_executions(schema, stuck))
    return len(stuck)


# ----------------------------------------------------------------------------- live updates


def _push_order(order: Order, *, insert: bool = False) -> None:
    """Live update of open pages: a new row on the orders page, or the row replaced where it is shown."""
    try:
        live.push(connection.schema_name, order.owner_id, "order",
                  {"id": order.pk, "state": order.state, "client_order_id": order.client_order_id,
                   "filled_quantity": str(order.filled_quantity)},
                  html=lambda: render_to_string("execution/partials/order_row.html",
                                                {"order": order, "oob": True, "insert": insert}))
    except Exception:  # live updates are best effort; the database is the record
        logger.warning("push of order %s failed", order.pk, exc_info=True)


def _push_signal(record: SignalRecord) -> None:
    try:
        live.push(connection.schema_name, record.owner_id, "signal", {"id": record.pk, "status": record.status})
    except Exception:
        logger.warning("push of signal %s failed", record.pk, exc_info=True)
