"""Native deployments: create, start (warm-up + reconciliation), advance bar by bar, dispatch, control.

Flow of one bar (``advance_deployment``), one step at a time per deployment (the deployment row's lock):

1. In ONE transaction: step the compiled strategy by the bar, write the runner state, the last processed bar
   time and an outbox row (``DeploymentSignal``) with the bar's broker commands. A crash before the commit
   loses nothing (the bar is simply processed again); a crash after it re-sends nothing (the state says the
   bar is done). When no earlier signal of the deployment is pending or still running (the usual case), the
   row is handed to the execution core (``submit_signal``) in that same transaction and stored as dispatched.
2. Otherwise ``dispatch_pending`` hands pending outbox rows over later, in order, once the earlier signals are
   done. The idempotency key ``native:<deployment>:<bar time ms>``: the core derives client order ids from it,
   the account and the command index, so a dispatch repeated after a crash never places a second order.

Missed bars are processed in order; a signal more than ``max_signal_age_bars`` bars old when it is produced
is skipped with the reason recorded (``stale_policy="skip"``, the default) or still traded (``"trade"``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import services as account_services
from backtests.marketdata.models import MarketSeries, OHLCVBar
from brokers.core.symbols import parse_tradingview
from execution import brokerage
from execution import services as execution_services
from execution.models import AccountExecution, SignalRecord
from execution.risk import kill_switch_reason
from execution.signals import (
    AccountRoute,
    Action,
    Command,
    DriftPolicy,
    PositionHint,
    Signal,
    SignalSource,
    SizingMode,
    route_from_json,
)
from execution.sizing import Skip, resolve_symbol
from fourpass.sql import PUBLIC_SCHEMA, insert_models, model_from_row, prepared_cursor, table, update_model
from strategies.pine.compiler import CompileResult
from strategies.pine.runtime.engine import ensure_compiled, resolve_inputs

from . import selectors
from .engine import DeploymentRunner, to_decimal
from .models import Deployment, DeploymentEvent, DeploymentSignal

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 7102
# A signal waiting for the previous one is sent by the core's completion hook (on_signal_settled) the moment
# that one finishes; this re-check is only the safety net for a hook that never ran (worker killed mid-job).
DISPATCH_RECHECK_MS = 1000
BATCH = 500
ZERO = Decimal(0)


class DeploymentError(Exception):
    """A user-facing reason why a deployment cannot be created or controlled."""


# Test seam for the crash tests: called with a point name ("stepped", "persisted", "dispatched"); raising
# there simulates a worker dying at that point. None in production.
fault_hook: Callable[[str], None] | None = None


def _fault(point: str) -> None:
    if fault_hook is not None:
        fault_hook(point)


# ----------------------------------------------------------------------------- compile / runners


@lru_cache(maxsize=64)
def _compile_cached(version_id: int, source: str) -> CompileResult:
    return ensure_compiled(source, f"version-{version_id}.pine")


_COMPILE_LOCK = threading.Lock()


def _compile(version_id: int, source: str) -> CompileResult:
    # one compile per process: when a bar closes, every worker thread steps a deployment of the same version at
    # once, and without the lock each would compile it (tens of ms of CPU each, under one GIL)
    with _COMPILE_LOCK:
        return _compile_cached(version_id, source)


# Compiled programs by (schema, version id): a strategy version is immutable, so a runner restored from its state
# (every step that lands on another worker process than the last one) needs no query for the version's source.
_COMPILED_BY_VERSION: dict[tuple[str, int], CompileResult] = {}


def compiled_for(deployment: Deployment) -> CompileResult:
    key = (connection.schema_name, deployment.strategy_version_id)
    compiled = _COMPILED_BY_VERSION.get(key)
    if compiled is None:
        version = deployment.strategy_version
        compiled = _compile(version.pk, version.source)
        if len(_COMPILED_BY_VERSION) >= 256:
            _COMPILED_BY_VERSION.pop(next(iter(_COMPILED_BY_VERSION)))
        _COMPILED_BY_VERSION[key] = compiled
    return compiled


# Runners kept in memory between steps of the same worker: (schema, deployment id) -> runner. A cached runner
# is used only when its last bar equals the persisted one; otherwise the persisted state wins.
_RUNNERS: dict[tuple[str, int], DeploymentRunner] = {}
_MAX_CACHED = 256


def forget_runners() -> None:
    """Drop in-memory runners and compiled programs (what a worker restart does)."""
    _RUNNERS.clear()
    _COMPILED_BY_VERSION.clear()


def _ms(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _runner_for(deployment: Deployment, saved: tuple[bytes, bytes | None] | None = None) -> DeploymentRunner:
    """The deployment's runner at its last processed bar: the one in memory when current, else restored from
    ``saved`` (the saved state and its base; read from the deployment when not given)."""
    key = (connection.schema_name, deployment.pk)
    cached = _RUNNERS.get(key)
    if cached is not None and cached.last_time_ms == _ms(deployment.last_bar_time):
        return cached
    if saved is None:
        base = deployment.state_base
        saved = (bytes(deployment.state), None if base is None else bytes(base))
    runner = DeploymentRunner.from_state(
        compiled_for(deployment), selectors.symbol_info_for(deployment.series), deployment.timeframe,
        deployment.inputs, saved[0], deployment.book, initial_capital=deployment.initial_capital, base=saved[1])
    if len(_RUNNERS) >= _MAX_CACHED:
        _RUNNERS.pop(next(iter(_RUNNERS)))
    _RUNNERS[key] = runner
    return runner


def restore_runners(limit: int = _MAX_CACHED, seconds: float = 5.0) -> int:
    """Load the runners of running deployments (the most recently stepped first) into this process's memory;
    a worker calls it at start. Otherwise the first bar after a restart restores every runner inside its own
    step, all of them at once, while the other steps wait for the interpreter lock. At most `limit` runners
    and `seconds`; a runner that cannot be restored is left to its next step, which reports the problem."""
    from django_tenants.utils import schema_context

    deadline = time.monotonic() + seconds
    restored = 0
    for schema in tenant_schemas():
        with schema_context(schema):
            running = (Deployment.objects.filter(status=Deployment.Status.RUNNING)
                       .select_related("series", "strategy_version").order_by("-last_bar_time")[: limit - restored])
            for deployment in running:
                if time.monotonic() > deadline:
                    return restored
                try:
                    _runner_for(deployment)
                except Exception:
                    logger.warning("the runner of deployment %s could not be restored at start", deployment.pk,
                                   exc_info=True)
                    continue
                restored += 1
        if restored >= limit:
            break
    return restored


# ----------------------------------------------------------------------------- events / pushes


def on_signal_settled(deployment_id: int) -> DispatchResult:
    """The completion hook for the execution core: call it (after commit) when a signal of this deployment has
    finished at every account. The next outbox row, if one waits for it, goes out at once instead of at the
    dispatch job's next poll."""
    # nothing waits in the usual case (each step hands its own row over): one cheap read instead of taking and
    # releasing the dispatcher's lock. A row committed after this read is handed over by the step that wrote it.
    with prepared_cursor() as cursor:
        cursor.execute(_pending_sql(connection.schema_name), [deployment_id, DeploymentSignal.Status.PENDING],
                       prepare=True)
        if cursor.fetchone() is None:
            return DispatchResult()
    return dispatch_pending(deployment_id)


@lru_cache(maxsize=64)
def _pending_sql(schema: str) -> str:
    return f"SELECT 1 FROM {table(schema, DeploymentSignal)} WHERE deployment_id = %s AND status = %s LIMIT 1"  # noqa: S608


def record_event(deployment: Deployment, kind: str, message: str, *, data: Any = None, actor=None,
                 bar_time: dt.datetime | None = None) -> DeploymentEvent:
    event = DeploymentEvent.objects.create(deployment=deployment, kind=kind, message=message[:500], data=data,
                                           actor=actor, bar_time=bar_time)
    schema = connection.schema_name
    transaction.on_commit(lambda: _push_event(schema, deployment, event))
    return event


def _record_events(deployment: Deployment, events: list[DeploymentEvent]) -> None:
    """Several events of one bar in one prepared INSERT (their ``at`` set by the caller)."""
    insert_models(events, connection.schema_name)
    schema = connection.schema_name
    for event in events:
        transaction.on_commit(lambda event=event: _push_event(schema, deployment, event))


def _push_event(schema: str, deployment: Deployment, event: DeploymentEvent) -> None:
    try:
        from fourpass.realtime import push_to_user

        push_to_user(schema, deployment.owner_id, "deployment_event",
                     {"deployment": deployment.pk, "kind": event.kind, "message": event.message},
                     html=lambda: render_to_string("native/partials/event_row.html", {"event": event, "oob": True}))
    except Exception:  # live updates are best effort; the database is the record
        logger.debug("push of deployment event %s failed", event.pk, exc_info=True)


def _push_status(deployment: Deployment) -> None:
    schema = connection.schema_name

    def push() -> None:
        try:
            from fourpass.realtime import push_to_user

            def html() -> str:
                return render_to_string("native/partials/deployment_card.html", {"d": deployment, "oob": True})

            push_to_user(schema, deployment.owner_id, "deployment",
                         {"id": deployment.pk, "status": deployment.status,
                          "last_bar_time": deployment.last_bar_time.isoformat() if deployment.last_bar_time else None,
                          "position": str(deployment.strategy_position), "net_profit": str(deployment.net_profit)},
                         html=html)
        except Exception:
            logger.debug("push of deployment %s failed", deployment.pk, exc_info=True)

    transaction.on_commit(push)


# ----------------------------------------------------------------------------- create


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    name: str
    strategy_version_id: int
    series_id: int
    routes: tuple[AccountRoute, ...]
    mode: str = Deployment.Mode.PAPER
    inputs: dict | None = None
    timeframe: str | None = None
    stale_policy: str = Deployment.StalePolicy.SKIP
    max_signal_age_bars: int = 1
    max_orders_per_day: int | None = None
    max_position: Decimal | None = None
    warmup_bars: int = 5000
    initial_capital: float | None = None
    confirm_live: bool = False


def _route_json(route: AccountRoute) -> dict:
    from dataclasses import asdict

    from execution.signals import _jsonable

    return _jsonable(asdict(route))


def create_deployment(user, spec: DeploymentSpec, *, start: bool = True) -> Deployment:
    """Validate and create a deployment, then enqueue its start (warm-up). Raises DeploymentError,
    accounts.services.PlanLimitExceeded."""
    from strategies.models import StrategyVersion

    version = StrategyVersion.objects.select_related("strategy").filter(pk=spec.strategy_version_id).first()
    if version is None or version.strategy.owner_id != user.pk:
        raise DeploymentError("strategy version not found")
    series = MarketSeries.objects.filter(pk=spec.series_id).first()
    if series is None:
        raise DeploymentError("market series not found")
    timeframe = spec.timeframe or series.timeframe
    if timeframe != series.timeframe:
        raise DeploymentError(f"{series.symbol} is stored at timeframe {series.timeframe}; deploy on that timeframe")
    try:
        compiled = _compile(version.pk, version.source)
    except Exception as error:
        raise DeploymentError(f"the strategy does not compile: {error}") from error
    if compiled.declaration is None or compiled.declaration.kind != "strategy":
        raise DeploymentError("only strategy() scripts can be deployed (this script is an indicator)")
    try:
        resolve_inputs(compiled, spec.inputs)
    except ValueError as error:
        raise DeploymentError(f"invalid inputs: {error}") from error
    if not spec.routes:
        raise DeploymentError("choose at least one broker account")
    live = spec.mode == Deployment.Mode.LIVE
    for route in spec.routes:
        try:
            account = brokerage.get_account(route.account_id)
        except brokerage.AccountUnavailable as error:
            raise DeploymentError(str(error)) from error
        if account.owner_id != user.pk:
            raise DeploymentError(f"broker account {route.account_id} is not yours")
        account_live = _is_live_account(route.account_id)
        if live != account_live:
            raise DeploymentError(
                f"account {account.name} is a {'live' if account_live else 'paper'} account; a {spec.mode} "
                "deployment needs " + ("live accounts" if live else "paper accounts"))
    if live:
        account_services.check_live_trading_allowed(user)
        if not spec.confirm_live:
            raise DeploymentError("a live deployment trades real money: confirm it explicitly")
    account_services.check_plan_limit(user, "max_native_deployments", selectors.active_count(user) + 1)
    with transaction.atomic():
        deployment = Deployment.objects.create(
            owner=user, name=spec.name or f"{version.strategy.name} v{version.number} on {series.symbol}",
            strategy_version=version, series=series, timeframe=timeframe, inputs=dict(spec.inputs or {}),
            mode=spec.mode, routes=[_route_json(r) for r in spec.routes], stale_policy=spec.stale_policy,
            max_signal_age_bars=spec.max_signal_age_bars, max_orders_per_day=spec.max_orders_per_day,
            max_position=spec.max_position, warmup_bars=spec.warmup_bars, initial_capital=spec.initial_capital,
        )
        record_event(deployment, DeploymentEvent.Kind.CREATED,
                     f"created ({spec.mode}) on {series.symbol} {timeframe} for {len(spec.routes)} account(s)",
                     actor=user, data={"live_confirmed": bool(spec.confirm_live) if live else None})
        if start:
            schema = connection.schema_name
            transaction.on_commit(lambda: _enqueue_start(schema, deployment.pk))
    return deployment


def _is_live_account(account_id: int) -> bool:
    from brokers.models import BrokerAccount

    account = BrokerAccount.objects.filter(pk=account_id).first()
    if account is not None:
        return bool(account.is_live)
    return not brokerage.get_account(account_id).is_paper


def _enqueue_start(schema: str, deployment_id: int) -> None:
    from .actors import start_deployment_job

    try:
        start_deployment_job.send(schema, deployment_id)
    except Exception:
        logger.exception("could not enqueue the start of deployment %s; the catch-up will start it", deployment_id)


# ----------------------------------------------------------------------------- locking


class _Lock:
    """A session advisory lock per deployment: one runner step (or start) at a time; in the next namespace, one
    dispatcher at a time (outbox rows go out strictly in order)."""

    def __init__(self, deployment_id: int, namespace: int = LOCK_NAMESPACE) -> None:
        self.deployment_id = deployment_id
        self.namespace = namespace
        self.held = False

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [self.namespace, self.deployment_id])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def __exit__(self, *exc) -> None:
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [self.namespace, self.deployment_id])


# ----------------------------------------------------------------------------- start / reconcile


def start_deployment(deployment_id: int) -> Deployment | None:
    """Warm the strategy up on the stored history, reconcile the accounts, then run."""
    with _Lock(deployment_id) as held:
        if not held:
            return None
        deployment = Deployment.objects.select_related("series", "strategy_version").filter(pk=deployment_id).first()
        if deployment is None or deployment.status != Deployment.Status.STARTING:
            return deployment
        history = selectors.history_bars(deployment.series_id, deployment.warmup_bars)
        if not len(history):
            return _fail(deployment, f"no stored bars for {deployment.series.symbol} {deployment.timeframe}")
        try:
            runner = DeploymentRunner.start(
                compiled_for(deployment), selectors.symbol_info_for(deployment.series), deployment.timeframe,
                deployment.inputs, history, initial_capital=deployment.initial_capital)
        except Exception as error:
            return _fail(deployment, f"warm-up failed: {error}")
        with transaction.atomic():
            _save_runner(deployment, runner)
            deployment.started_at = timezone.now()
            deployment.status = Deployment.Status.RUNNING
            deployment.save()
            _RUNNERS[(connection.schema_name, deployment.pk)] = runner
            record_event(deployment, DeploymentEvent.Kind.STARTED,
                         f"warmed up on {len(history)} bars up to {deployment.last_bar_time:%Y-%m-%d %H:%M} UTC; "
                         f"strategy position after history {deployment.strategy_position.normalize():f} (not traded)")
            mismatch = reconcile(deployment)
            if mismatch:
                _pause(deployment, f"position mismatch at start: {mismatch}", kind=DeploymentEvent.Kind.MISMATCH)
            _push_status(deployment)
        return deployment


def _fail(deployment: Deployment, reason: str) -> Deployment:
    deployment.status = Deployment.Status.FAILED
    deployment.status_reason = reason[:500]
    deployment.save(update_fields=["status", "status_reason", "updated_at"])
    record_event(deployment, DeploymentEvent.Kind.FAILED, reason)
    _push_status(deployment)
    return deployment


def _save_runner(deployment: Deployment, runner: DeploymentRunner) -> bool:
    """Set the deployment's runner fields; True when ``state_base`` changed too (it is written only then)."""
    emu = runner.runner.emu
    deployment.state, base = runner.get_delta()
    if base is not None:
        deployment.state_base = base
    deployment.book = runner.book_json()
    deployment.last_bar_time = _from_ms(runner.last_time_ms)
    deployment.bars_processed = runner.runner.bars_processed
    deployment.strategy_position = to_decimal(emu.position_size)
    deployment.traded_position = to_decimal(runner.book.traded_position)
    deployment.net_profit = to_decimal(emu.netprofit)
    deployment.open_profit = to_decimal(emu.openprofit)
    deployment.closed_trades = int(emu.closedtrades)
    return base is not None


def _position_factor(route: AccountRoute) -> Decimal | None:
    """Account position per unit of strategy position, when the sizing rule makes it knowable."""
    if route.sizing.mode is SizingMode.AS_ALERT:
        return Decimal(1)
    if route.sizing.mode is SizingMode.MULTIPLIER:
        return route.sizing.value
    return None


def broker_position(deployment: Deployment, route: AccountRoute) -> Decimal:
    symbol = resolve_symbol(deployment.series.symbol, route)
    if isinstance(symbol, Skip):
        raise DeploymentError(symbol.reason)
    service = brokerage.broker_for(route.account_id)
    try:
        return service.position_quantity(parse_tradingview(symbol))
    finally:
        try:
            service.close()
        except Exception:
            logger.debug("closing broker service failed", exc_info=True)


def reconcile(deployment: Deployment, traded: Decimal | None = None, *, log: bool = True) -> str | None:
    """Compare each account's position with what the deployment traded. A description of the mismatch, or None.

    Nothing is corrected: the caller pauses the deployment and the user decides."""
    traded = deployment.traded_position if traded is None else traded
    problems = []
    checked = 0
    for data in deployment.routes:
        route = route_from_json(data)
        factor = _position_factor(route)
        if factor is None:
            continue
        try:
            actual = broker_position(deployment, route)
        except Exception as error:
            problems.append(f"account {route.account_id}: position unavailable ({error})")
            continue
        expected = Decimal(str(deployment.baseline.get(str(route.account_id), "0"))) + factor * traded
        checked += 1
        if abs(actual - expected) > Decimal("1e-9"):
            problems.append(f"account {route.account_id} holds {actual.normalize():f}, expected "
                            f"{expected.normalize():f}")
    if problems:
        return "; ".join(problems)
    if checked and log:
        record_event(deployment, DeploymentEvent.Kind.RECONCILED,
                     f"{checked} account(s) match the traded position {traded.normalize():f}")
    return None


# ----------------------------------------------------------------------------- advance


@dataclass
class AdvanceResult:
    bars: int = 0
    signals: int = 0
    skipped: int = 0
    locked: bool = False
    dispatch_waiting: bool = False  # the last dispatch left a row waiting for the previous signal's orders
    signal_records: list[int] = field(default_factory=list)  # execution-core signals handed over


def advance_deployment(deployment_id: int, *, max_bars: int | None = None) -> AdvanceResult:
    """Process every stored bar after the deployment's last one, in order, one transaction per bar.

    One step at a time per deployment: each bar's transaction locks the deployment row first (``SKIP LOCKED``: a
    step that finds it locked returns ``locked`` instead of waiting), and a bar is processed only if it is after
    the ``last_bar_time`` read under that lock."""
    result = AdvanceResult()
    try:
        _advance_locked(deployment_id, result, max_bars)
    except BaseException:
        _RUNNERS.pop((connection.schema_name, deployment_id), None)
        raise
    if result.dispatch_waiting:
        # a signal waits for the previous one's orders: look again, and schedule the dispatch job if it still waits
        dispatch_pending(deployment_id)
    return result


@dataclass
class _Batch:
    """Bars fetched after the deployment's last processed bar, consumed one transaction at a time."""

    bars: list[tuple]
    total: int  # bars after the last processed one when fetched (``len(bars)`` or more): the signals' age
    position: int = 0


def _advance_locked(deployment_id: int, result: AdvanceResult, max_bars: int | None) -> None:
    batch: _Batch | None = None
    while max_bars is None or result.bars < max_bars:
        if batch is not None and batch.position >= len(batch.bars) and batch.total <= len(batch.bars):
            return  # every bar stored when we looked is done; a newer one comes with its own step message
        step = _advance_one(deployment_id, batch, result)
        if step is None:
            return
        batch, row = step
        if row is None:
            continue
        _fault("persisted")
        if row.status == DeploymentSignal.Status.DISPATCHED:
            _fault("dispatched")
            continue
        # an earlier signal was still pending or running: hand the rows over in order (or wait for it)
        dispatched = _dispatch(deployment_id, retry=False)
        result.dispatch_waiting = dispatched.waiting
        result.signal_records += dispatched.signal_records


def _advance_one(deployment_id: int, batch: _Batch | None, result: AdvanceResult
                 ) -> tuple[_Batch, DeploymentSignal | None] | None:
    try:
        return _advance_one_atomic(deployment_id, batch, result)
    except _StepFailed as failure:
        _fail(Deployment.objects.get(pk=deployment_id), str(failure))
        return None


class _StepFailed(Exception):
    pass


@dataclass
class _Locked:
    """The deployment row read under its lock at the start of a bar's transaction, with what the step needs."""

    deployment: Deployment
    saved: tuple[bytes, bytes | None] | None  # state and base; None when the runner in memory is current (not read)
    unsettled: bool  # a signal of this deployment is still running in the execution core
    pending: bool  # an outbox row of this deployment is waiting to be handed over
    bars: list[tuple]  # the next stored bars (when asked for)


_DEPLOYMENT_FIELDS = [f for f in Deployment._meta.concrete_fields if f.attname not in ("state", "state_base")]
_SERIES_FIELDS = list(MarketSeries._meta.concrete_fields)


@lru_cache(maxsize=64)
def _lock_sql(schema: str) -> str:
    """One prepared statement instead of five: lock the deployment row (skipping a locked one), read it with its
    series, the saved runner state only when the caller's runner is not current, whether an earlier signal is
    still pending/running (then this bar's signal waits), and the next stored bars."""
    columns = ", ".join([f'd."{f.column}"' for f in _DEPLOYMENT_FIELDS] + [f'm."{f.column}"' for f in _SERIES_FIELDS])
    return (
        f"SELECT {columns}, "  # noqa: S608 (identifiers from Django and fourpass.sql.table)
        "CASE WHEN d.last_bar_time IS NOT DISTINCT FROM %(cached)s THEN NULL ELSE d.state END, "
        "CASE WHEN d.last_bar_time IS NOT DISTINCT FROM %(cached)s THEN NULL ELSE d.state_base END, "
        f"EXISTS (SELECT 1 FROM {table(schema, SignalRecord)} AS r WHERE r.deployment_id = d.id "
        "AND r.status <> ALL(%(settled)s)), "
        f"EXISTS (SELECT 1 FROM {table(schema, DeploymentSignal)} AS s WHERE s.deployment_id = d.id "
        "AND s.status = %(pending)s), "
        "ARRAY(SELECT ARRAY[(extract(epoch FROM b.time) * 1000)::float8, b.open, b.high, b.low, b.close, b.volume] "
        f"FROM {table(PUBLIC_SCHEMA, OHLCVBar)} AS b WHERE b.series_id = d.series_id "
        "AND b.time > COALESCE(d.last_bar_time, '-infinity') ORDER BY b.time LIMIT %(bars)s) "
        f"FROM {table(schema, Deployment)} AS d JOIN {table(PUBLIC_SCHEMA, MarketSeries)} AS m ON m.id = d.series_id "
        "WHERE d.id = %(id)s FOR UPDATE OF d SKIP LOCKED"
    )


def _lock_deployment(deployment_id: int, bars: int) -> _Locked | None:
    """The deployment row, locked, or None when another transaction holds it (or it is gone)."""
    schema = connection.schema_name
    cached = _RUNNERS.get((schema, deployment_id))
    cached_time = None if cached is None or cached.last_time_ms is None else _from_ms(cached.last_time_ms)
    with prepared_cursor() as cursor:
        cursor.execute(_lock_sql(schema), {
            "cached": cached_time, "settled": [SignalRecord.Status.DONE, SignalRecord.Status.REJECTED],
            "pending": DeploymentSignal.Status.PENDING, "bars": bars, "id": deployment_id}, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    n = len(_DEPLOYMENT_FIELDS)
    m = n + len(_SERIES_FIELDS)
    deployment = model_from_row(Deployment, values[:n], _DEPLOYMENT_FIELDS)
    deployment.series = model_from_row(MarketSeries, values[n:m])
    state, base, unsettled, pending, bar_rows = values[m:]
    saved = None if state is None else (bytes(state), None if base is None else bytes(base))
    return _Locked(deployment, saved, unsettled, pending,
                   [(int(t), o, h, lo, c, v) for t, o, h, lo, c, v in bar_rows])


def _advance_one_atomic(deployment_id: int, batch: _Batch | None, result: AdvanceResult
                        ) -> tuple[_Batch, DeploymentSignal | None] | None:
    """Process the next bar in one transaction. None when there is nothing (more) to do; otherwise the batch
    and the bar's outbox row (None when the bar produced none, or only a skipped one); the row is handed to the
    execution core in the same transaction when nothing earlier is pending or running (status "dispatched")."""
    with transaction.atomic():
        need_bars = batch is None or batch.position >= len(batch.bars)
        locked = _lock_deployment(deployment_id, BATCH if need_bars else 0)
        if locked is None:
            if Deployment.objects.filter(pk=deployment_id).exists():
                result.locked = True  # another worker is stepping (or a control action holds the row)
            return None
        deployment = locked.deployment
        if deployment.status != Deployment.Status.RUNNING:
            return None
        if need_bars:
            # read under the row lock: no other step can move last_bar_time while we hold it
            bars, total = locked.bars, len(locked.bars)
            if not bars:
                return None
            if total == BATCH:
                total = selectors.bar_rows_after(deployment.series_id, deployment.last_bar_time, 1)[1]
            batch = _Batch(bars, total)
            if total > 1:
                record_event(deployment, DeploymentEvent.Kind.CATCH_UP,
                             f"{total} bars to process since {deployment.last_bar_time:%Y-%m-%d %H:%M} UTC",
                             data={"bars": total})
        bar = batch.bars[batch.position]
        age = batch.total - 1 - batch.position  # bars already closed after this one
        batch.position += 1
        if deployment.last_bar_time is not None and bar[0] <= _ms(deployment.last_bar_time):
            return batch, None  # already processed (a concurrent catch-up got here first)
        runner = _runner_for(deployment, locked.saved)
        bar_time = _from_ms(bar[0])
        try:
            outcome = runner.step(bar)
        except Exception as error:
            _RUNNERS.pop((connection.schema_name, deployment_id), None)
            raise _StepFailed(f"runtime error on the bar of {bar_time:%Y-%m-%d %H:%M} UTC: {error}") from error
        _fault("stepped")
        now = timezone.now()
        events = [DeploymentEvent(deployment=deployment, kind=DeploymentEvent.Kind.NOTE, message=note[:500],
                                  bar_time=bar_time, at=now) for note in outcome.notes]
        events += [DeploymentEvent(deployment=deployment, kind=DeploymentEvent.Kind.ALERT,
                                   message=str(alert.get("message", ""))[:500] or "alert()", data=alert,
                                   bar_time=bar_time, at=now) for alert in outcome.alerts]
        row = None
        status = deployment.status
        if outcome.commands:
            row = _outbox(deployment, runner, outcome, bar_time, age, result, events,
                          dispatch=not (locked.pending or locked.unsettled))
        rebased = _save_runner(deployment, runner)
        deployment.updated_at = now
        fields = (*_RUNNER_UPDATE, "state_base") if rebased else _RUNNER_UPDATE
        if deployment.status == status:
            update_model(deployment, connection.schema_name, fields)
        else:  # a limit stopped it or the kill switch paused it: rare, through the ORM
            deployment.save(update_fields=(*fields, *_STATUS_FIELDS))
        if events:
            _record_events(deployment, events)
        result.bars += 1
        _push_status(deployment)
    if row is not None and row.status == DeploymentSignal.Status.SKIPPED:
        row = None
    return batch, row


# what a bar changes on the deployment row (the state is the bulk of the UPDATE)
_RUNNER_FIELDS = ("state", "book", "last_bar_time", "bars_processed", "strategy_position", "traded_position",
                  "net_profit", "open_profit", "closed_trades", "updated_at")
_RUNNER_UPDATE = (*_RUNNER_FIELDS, "next_sequence")
# ... and what the outbox may change besides (a limit stops the deployment; the kill switch pauses it)
_STATUS_FIELDS = ("status", "status_reason", "stopped_at")


def _outbox(deployment: Deployment, runner: DeploymentRunner, outcome, bar_time: dt.datetime, age: int,
            result: AdvanceResult, events: list[DeploymentEvent], *, dispatch: bool) -> DeploymentSignal:
    """The bar's outbox row, inserted; with ``dispatch`` (nothing earlier waits or runs), handed to the execution
    core first, in the same transaction: it is inserted as dispatched (or skipped on a position mismatch).
    Appends the bar's events to ``events`` (inserted by the caller)."""
    commands = [c.to_json() for c in outcome.commands]
    skip_reason = ""
    stop_reason = ""
    killed = kill_switch_reason(deployment.owner_id)
    if killed:
        skip_reason = killed
    elif age > deployment.max_signal_age_bars and deployment.stale_policy == Deployment.StalePolicy.SKIP:
        skip_reason = (f"stale: {age} newer bar(s) had already closed when this bar was processed "
                       f"(limit {deployment.max_signal_age_bars})")
    elif deployment.max_position is not None and any(
            abs(c.position_after) > deployment.max_position for c in outcome.commands):
        stop_reason = f"max position {deployment.max_position.normalize():f} would be exceeded"
    elif deployment.max_orders_per_day is not None:
        sent_today = _orders_sent_today(deployment)
        if sent_today + len(commands) > deployment.max_orders_per_day:
            stop_reason = f"max orders per day {deployment.max_orders_per_day} reached ({sent_today} sent today)"
    sequence = deployment.next_sequence
    deployment.next_sequence += 1
    now = timezone.now()
    row = DeploymentSignal(
        deployment=deployment, sequence=sequence, bar_time=bar_time,
        idempotency_key=f"native:{deployment.pk}:{_ms(bar_time)}", commands=commands,
        status=DeploymentSignal.Status.SKIPPED if (skip_reason or stop_reason) else DeploymentSignal.Status.PENDING,
        reason=(skip_reason or stop_reason)[:500], created_at=now,
    )
    mismatch = None
    if row.status == DeploymentSignal.Status.PENDING and dispatch:
        mismatch = reconcile(deployment, Decimal(commands[0]["position_before"]), log=False)
        if mismatch:
            row.status = DeploymentSignal.Status.SKIPPED
            row.reason = f"position mismatch: {mismatch}"[:500]
        else:
            record = execution_services.submit_signal(_signal_for(deployment, row))
            row.status = DeploymentSignal.Status.DISPATCHED
            row.signal_record_id = record.pk
            row.dispatched_at = now
            result.signal_records.append(record.pk)
    insert_models([row], connection.schema_name)
    summary = ", ".join(_describe(c) for c in outcome.commands)
    if skip_reason or stop_reason:
        # the broker will not trade these: the traded position stays where it was before the bar
        runner.book.traded_position = float(outcome.commands[0].position_before)
        result.skipped += 1
        events.append(DeploymentEvent(deployment=deployment, kind=DeploymentEvent.Kind.SKIPPED,
                                      message=f"not sent ({row.reason}): {summary}"[:500], bar_time=bar_time,
                                      data={"signal": row.pk}, at=now))
    else:
        result.signals += 1
        events.append(DeploymentEvent(deployment=deployment, kind=DeploymentEvent.Kind.SIGNAL, message=summary[:500],
                                      bar_time=bar_time, data={"signal": row.pk}, at=now))
    if mismatch:
        events.append(DeploymentEvent(deployment=deployment, kind=DeploymentEvent.Kind.SKIPPED,
                                      message=f"signal #{row.sequence} not sent: {row.reason}"[:500],
                                      bar_time=bar_time, data={"signal": row.pk}, at=now))
        _pause_in_step(deployment, row.reason, DeploymentEvent.Kind.MISMATCH, events, now)
    if killed:
        _pause_in_step(deployment, killed, DeploymentEvent.Kind.KILL_SWITCH, events, now)
    if stop_reason:
        deployment.status = Deployment.Status.STOPPED
        deployment.status_reason = stop_reason[:500]
        deployment.stopped_at = now
        events.append(DeploymentEvent(deployment=deployment, kind=DeploymentEvent.Kind.LIMIT,
                                      message=f"stopped: {stop_reason}"[:500], bar_time=bar_time, at=now))
    return row


def _pause_in_step(deployment: Deployment, reason: str, kind: str, events: list[DeploymentEvent],
                   now: dt.datetime) -> None:
    """``_pause`` for the step's own row: the caller saves the deployment and inserts the events."""
    deployment.status = Deployment.Status.PAUSED
    deployment.status_reason = reason[:500]
    events.append(DeploymentEvent(deployment=deployment, kind=kind, message=f"paused: {reason}"[:500], at=now))


def _describe(command) -> str:
    qty = "all" if command.quantity is None else f"{command.quantity.normalize():f}"
    label = command.comment or command.order_id
    return f"{command.action} {qty} ({label}){' at the close' if command.predicted else ''}"


def _orders_sent_today(deployment: Deployment) -> int:
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = DeploymentSignal.objects.filter(deployment=deployment, status=DeploymentSignal.Status.DISPATCHED,
                                           dispatched_at__gte=start).values_list("commands", flat=True)
    return sum(len(commands) for commands in rows)


# ----------------------------------------------------------------------------- dispatch


def _signal_for(deployment: Deployment, row: DeploymentSignal) -> Signal:
    commands = []
    for data in row.commands:
        action = Action(data["action"])
        commands.append(Command(
            action=action, symbol=deployment.series.symbol,
            quantity=None if data["quantity"] is None else Decimal(data["quantity"]),
            reference_price=Decimal(data["reference_price"]),
        ))
    before = Decimal(row.commands[0]["position_before"])
    after = Decimal(row.commands[-1]["position_after"])
    return Signal(
        source=SignalSource.NATIVE, owner_id=deployment.owner_id, idempotency_key=row.idempotency_key,
        commands=tuple(commands), routes=tuple(route_from_json(r) for r in deployment.routes),
        deployment_id=deployment.pk, signal_time=row.bar_time,
        position_hint=PositionHint(market_position=_side_name(after), prev_market_position=_side_name(before),
                                   market_position_size=abs(after)),
        drift_policy=DriftPolicy.WARN,
    )


def _side_name(position: Decimal) -> str:
    return "flat" if position == 0 else ("long" if position > 0 else "short")


def _previous_signals_settled(deployment: Deployment) -> bool:
    return not SignalRecord.objects.filter(deployment_id=deployment.pk).exclude(
        status__in=[SignalRecord.Status.DONE, SignalRecord.Status.REJECTED]).exists()


@dataclass
class DispatchResult:
    sent: int = 0
    waiting: bool = False  # a row waits for the previous signal's orders to finish
    signal_records: list[int] = field(default_factory=list)  # execution-core signals handed over


def dispatch_pending(deployment_id: int, *, retry: bool = True) -> DispatchResult:
    """Hand the deployment's pending outbox rows to the execution core, oldest first. Idempotent.

    A row is handed over only once every earlier signal of the deployment has finished at the brokers: the
    core runs per-account jobs concurrently, and an exit must not overtake the entry it closes. When a row has
    to wait, a dispatch job is scheduled shortly (``retry``)."""
    return _dispatch(deployment_id, retry=retry)


def _dispatch(deployment_id: int, *, retry: bool) -> DispatchResult:
    result = DispatchResult()
    with _Lock(deployment_id, LOCK_NAMESPACE + 1) as held:
        if not held:  # another worker is dispatching this deployment; look again shortly
            result.waiting = True
        else:
            _dispatch_locked(deployment_id, result)
    if result.waiting and retry:
        _enqueue_dispatch(connection.schema_name, deployment_id)
    return result


def _dispatch_locked(deployment_id: int, result: DispatchResult) -> None:
    for row_id in DeploymentSignal.objects.filter(deployment_id=deployment_id, status=DeploymentSignal.Status.PENDING
                                                  ).order_by("sequence").values_list("pk", flat=True):
        with transaction.atomic():
            row = DeploymentSignal.objects.select_for_update().filter(pk=row_id).first()
            if row is None or row.status != DeploymentSignal.Status.PENDING:
                continue  # skipped by a control action meanwhile
            deployment = Deployment.objects.select_related("series").get(pk=deployment_id)
            if deployment.status not in (Deployment.Status.RUNNING, Deployment.Status.STOPPED) or (
                    deployment.status == Deployment.Status.STOPPED and not row.idempotency_key.startswith(
                        f"native:{deployment.pk}:stop")):
                _skip_row(row, f"deployment is {deployment.status}")
                continue
            killed = kill_switch_reason(deployment.owner_id)
            if killed:
                _skip_row(row, killed)
                if deployment.status == Deployment.Status.RUNNING:
                    _pause(deployment, killed, kind=DeploymentEvent.Kind.KILL_SWITCH)
                continue
            if not _previous_signals_settled(deployment):
                result.waiting = True
                break
            sent = result.sent
            _send_row(deployment, row, result)
            if result.sent == sent:
                continue  # skipped: position mismatch
        _fault("dispatched")


def _send_row(deployment: Deployment, row: DeploymentSignal, result: DispatchResult) -> None:
    """Reconcile, then hand one outbox row to the execution core (inside the caller's transaction)."""
    if deployment.status == Deployment.Status.RUNNING:
        mismatch = reconcile(deployment, Decimal(row.commands[0]["position_before"]), log=False)
        if mismatch:
            _skip_row(row, f"position mismatch: {mismatch}")
            _pause(_locked(deployment), f"position mismatch: {mismatch}", kind=DeploymentEvent.Kind.MISMATCH)
            return
    record = execution_services.submit_signal(_signal_for(deployment, row))
    row.status = DeploymentSignal.Status.DISPATCHED
    row.signal_record_id = record.pk
    row.dispatched_at = timezone.now()
    row.save(update_fields=["status", "signal_record_id", "dispatched_at"])
    result.sent += 1
    result.signal_records.append(record.pk)


def execute_now(signal_record_ids: list[int]) -> int:
    """Carry out the per-account jobs of signals this thread has just handed over, here, instead of after a
    queue hop to an execution worker (an idle worker polls its queue with a back-off of up to a second).

    The step dispatched them inside ``jobs_run_by_caller`` (nothing queued); ``execute_account`` is re-runnable
    and locked per job, so a job queued by housekeeping meanwhile finds it done (or running) and returns."""
    with prepared_cursor() as cursor:
        cursor.execute(_pending_executions_sql(connection.schema_name),
                       [signal_record_ids, AccountExecution.Status.PENDING], prepare=True)
        pending = [execution_id for (execution_id,) in cursor.fetchall()]
    ran = 0
    for execution_id in pending:
        try:
            execution_services.execute_account(execution_id)
        except Exception:
            # e.g. RetryLater: queue it with the core's first back-off step (nothing else queued it)
            logger.info("inline execution %s did not finish; queued again", execution_id, exc_info=True)
            _enqueue_execution_retry(connection.schema_name, execution_id)
            continue
        ran += 1
    return ran


@lru_cache(maxsize=64)
def _pending_executions_sql(schema: str) -> str:
    return (f"SELECT id FROM {table(schema, AccountExecution)} WHERE signal_id = ANY(%s) AND status = %s "  # noqa: S608
            "ORDER BY id")


def _enqueue_execution_retry(schema: str, execution_id: int) -> None:
    from execution.actors import execute_account_job

    try:
        execute_account_job.send_with_options(args=(schema, execution_id), delay=500)
    except Exception:  # Redis down: the core's housekeeping re-enqueues stuck jobs
        logger.exception("could not queue execution %s again", execution_id)


def _enqueue_dispatch(schema: str, deployment_id: int) -> None:
    from .actors import dispatch_deployment_job

    try:
        dispatch_deployment_job.send_with_options(args=(schema, deployment_id), delay=DISPATCH_RECHECK_MS)
    except Exception:
        logger.exception("could not enqueue the dispatch of deployment %s; the catch-up will do it", deployment_id)


def _skip_row(row: DeploymentSignal, reason: str) -> None:
    row.status = DeploymentSignal.Status.SKIPPED
    row.reason = reason[:500]
    row.save(update_fields=["status", "reason"])
    record_event(row.deployment, DeploymentEvent.Kind.SKIPPED, f"signal #{row.sequence} not sent: {reason}",
                 bar_time=row.bar_time, data={"signal": row.pk})


# ----------------------------------------------------------------------------- controls


def _pause(deployment: Deployment, reason: str, *, kind: str = DeploymentEvent.Kind.PAUSED, actor=None) -> None:
    deployment.status = Deployment.Status.PAUSED
    deployment.status_reason = reason[:500]
    deployment.save(update_fields=["status", "status_reason", "updated_at"])
    record_event(deployment, kind, f"paused: {reason}", actor=actor)
    _push_status(deployment)


def _locked(deployment: Deployment) -> Deployment:
    return Deployment.objects.select_for_update(of=("self",)).select_related("series").get(pk=deployment.pk)


def pause_deployment(deployment: Deployment, user, reason: str = "paused by the user") -> Deployment:
    with transaction.atomic():
        locked = _locked(deployment)
        if locked.status != Deployment.Status.RUNNING:
            raise DeploymentError(f"a {locked.status} deployment cannot be paused")
        _pause(locked, reason, actor=user)
        for row in locked.signals.filter(status=DeploymentSignal.Status.PENDING):
            _skip_row(row, "deployment paused before the signal was sent")
    return locked


def resume_deployment(deployment: Deployment, user, *, adopt_positions: bool = False) -> Deployment:
    """Run again. Bars closed while paused are processed in order (stale signals skipped by policy).

    ``adopt_positions``: the user accepts the accounts' current positions as held outside the strategy
    (the baseline), after a mismatch."""
    with transaction.atomic():
        locked = _locked(deployment)
        if locked.status != Deployment.Status.PAUSED:
            raise DeploymentError(f"a {locked.status} deployment cannot be resumed")
        if kill_switch_reason(locked.owner_id):
            raise DeploymentError("the kill switch is engaged; release it first")
        if adopt_positions:
            baseline = {}
            for data in locked.routes:
                route = route_from_json(data)
                factor = _position_factor(route)
                if factor is None:
                    continue
                baseline[str(route.account_id)] = format((broker_position(locked, route) - factor * locked.traded_position).normalize(), "f")
            locked.baseline = baseline
            record_event(locked, DeploymentEvent.Kind.RECONCILED,
                         f"positions adopted as held outside the strategy: {baseline}", actor=user)
        else:
            mismatch = reconcile(locked)
            if mismatch:
                raise DeploymentError(f"position mismatch: {mismatch}. Fix the account or adopt its position.")
        locked.status = Deployment.Status.RUNNING
        locked.status_reason = ""
        locked.save()
        record_event(locked, DeploymentEvent.Kind.RESUMED, "resumed", actor=user)
        _push_status(locked)
        schema = connection.schema_name
        transaction.on_commit(lambda: enqueue_steps(schema, [locked.pk]))
    return locked


def stop_deployment(deployment: Deployment, user, *, flatten: bool = False) -> Deployment:
    """Stop for good; with ``flatten``, close the position the deployment traded through the execution core."""
    with transaction.atomic():
        locked = _locked(deployment)
        if locked.status == Deployment.Status.STOPPED and not flatten:
            return locked
        for row in locked.signals.filter(status=DeploymentSignal.Status.PENDING):
            _skip_row(row, "deployment stopped before the signal was sent")
        locked.status = Deployment.Status.STOPPED
        locked.status_reason = "stopped by the user"
        locked.stopped_at = timezone.now()
        row = None
        if flatten and locked.traded_position != 0:
            traded = locked.traded_position
            has_baseline = any(Decimal(str(v)) != 0 for v in locked.baseline.values())
            sequence = locked.next_sequence
            locked.next_sequence += 1
            row = DeploymentSignal.objects.create(
                deployment=locked, sequence=sequence, bar_time=locked.last_bar_time or timezone.now(),
                idempotency_key=f"native:{locked.pk}:stop:{sequence}",
                commands=[{"action": "exit", "quantity": str(abs(traded)) if has_baseline else None,
                           "reference_price": "0", "event_index": 0, "order_id": "stop", "comment": "flatten on stop",
                           "alert_message": None, "predicted": False, "position_before": str(traded),
                           "position_after": "0"}])
            locked.traded_position = ZERO
        locked.save()
        record_event(locked, DeploymentEvent.Kind.STOPPED,
                     "stopped" + (f"; closing the traded position {traded.normalize():f}" if row else ""), actor=user)
        _push_status(locked)
    _RUNNERS.pop((connection.schema_name, locked.pk), None)
    if row is not None:
        dispatch_pending(locked.pk)
    return locked


# ----------------------------------------------------------------------------- triggers


def enqueue_steps(schema: str, deployment_ids: list[int]) -> None:
    from .actors import step_deployment_job

    for deployment_id in deployment_ids:
        try:
            step_deployment_job.send(schema, deployment_id)
        except Exception:
            logger.exception("could not enqueue a step of deployment %s; the catch-up will run it", deployment_id)


def tenant_schemas() -> list[str]:
    from accounts.models import Organization

    return list(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))


def on_bars_stored(series_id: int) -> int:
    """Called by the feeds after new closed bars of a series are stored: one step job per running deployment."""
    from django_tenants.utils import schema_context

    enqueued = 0
    for schema in tenant_schemas():
        with schema_context(schema):
            ids = selectors.active_deployment_ids_for_series(series_id)
        if ids:
            enqueue_steps(schema, ids)
            enqueued += len(ids)
    return enqueued


def live_series_ids() -> list[int]:
    """Series with at least one running deployment, in any tenant."""
    from django_tenants.utils import schema_context

    ids: set[int] = set()
    for schema in tenant_schemas():
        with schema_context(schema):
            ids.update(Deployment.objects.filter(status=Deployment.Status.RUNNING).values_list("series_id", flat=True))
    return sorted(ids)


def catch_up_all() -> int:
    """The periodic safety net: start deployments left in "starting", step every running one behind its data,
    dispatch outbox rows a dead worker left pending."""
    from django_tenants.utils import schema_context

    from .actors import start_deployment_job

    count = 0
    for schema in tenant_schemas():
        with schema_context(schema):
            starting = list(Deployment.objects.filter(status=Deployment.Status.STARTING).values_list("pk", flat=True))
            running = list(Deployment.objects.filter(status=Deployment.Status.RUNNING).values_list("pk", flat=True))
            pending = set(DeploymentSignal.objects.filter(status=DeploymentSignal.Status.PENDING)
                          .values_list("deployment_id", flat=True))
        for deployment_id in starting:
            start_deployment_job.send(schema, deployment_id)
        enqueue_steps(schema, sorted(set(running) | pending))
        for deployment_id in sorted(pending):  # rows a dead worker committed but never handed over
            _enqueue_dispatch(schema, deployment_id)
        count += len(starting) + len(running)
    return count
