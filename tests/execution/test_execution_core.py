"""The execution core called directly (as the native runner will): idempotency, retries with look-up by
client order id, independent accounts, ordered commands, risk, approval. Brokers are the Redis fake."""

from decimal import Decimal as D

import pytest
from django.utils import timezone

from accounts.models import Plan
from accounts.services import engage_kill_switch
from execution import services
from execution.models import AccountExecution, AuditEvent, Order, RiskLimits, SignalRecord
from execution.signals import AccountRoute, Action, Command, OrderKind, Signal, SignalSource
from tests.execution import fake_broker

pytestmark = pytest.mark.django_db

BTC = "BINANCE:BTCUSDT"


@pytest.fixture
def owner(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


@pytest.fixture
def schema(retail_tenant, in_schema):
    with in_schema(retail_tenant.schema_name):
        yield retail_tenant.schema_name


def signal(owner, accounts, *commands, key="sig-1", **options) -> Signal:
    commands = commands or (Command(Action.BUY, BTC, quantity=D("0.01")),)
    return Signal(SignalSource.NATIVE, owner.pk, key, tuple(commands),
                  tuple(AccountRoute(a) for a in accounts), deployment_id=7, **options)


def run_jobs():
    for execution in AccountExecution.objects.filter(status=AccountExecution.Status.PENDING):
        services.execute_account(execution.pk)


def test_the_same_signal_submitted_twice_executes_once(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    first = services.submit_signal(signal(owner, [account]))
    again = services.submit_signal(signal(owner, [account]))
    run_jobs()
    run_jobs()
    assert first.pk == again.pk
    assert Order.objects.count() == 1
    assert fake_broker.submissions(schema, account) == 1


def test_a_lost_broker_reply_is_looked_up_by_client_id_and_never_sent_twice(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    fake_broker.fail_next(schema, account, times=1, after_send=True)  # placed, but the reply is lost
    fake_broker.fail_lookups(schema, account, times=2)  # and the broker's look-ups fail for a while
    services.submit_signal(signal(owner, [account]))
    execution = AccountExecution.objects.get()
    with pytest.raises(services.RetryLater):
        services.execute_account(execution.pk)
    order = Order.objects.get()
    assert order.state == Order.State.SUBMITTED  # outcome unknown
    services.execute_account(execution.pk)  # the actor's retry
    order.refresh_from_db()
    assert order.state == Order.State.FILLED
    assert fake_broker.submissions(schema, account) == 1
    assert AuditEvent.objects.filter(stage="retry", broker_account_id=account).exists()


def test_a_failed_send_is_retried_with_the_same_client_order_id(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    fake_broker.fail_next(schema, account, times=3)  # connection refused three times, nothing placed
    services.submit_signal(signal(owner, [account]))
    execution = AccountExecution.objects.get()
    with pytest.raises(services.RetryLater):
        services.execute_account(execution.pk)
    client_id = Order.objects.get().client_order_id
    services.execute_account(execution.pk)
    assert Order.objects.get().state == Order.State.FILLED
    assert [o["client_order_id"] for o in fake_broker.orders_of(schema, account)] == [client_id]


def test_retries_are_bounded_and_end_in_failed(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    fake_broker.fail_next(schema, account, times=1000)
    services.submit_signal(signal(owner, [account]))
    execution = AccountExecution.objects.get()
    for _ in range(services.MAX_ATTEMPTS - 1):
        with pytest.raises(services.RetryLater):
            services.execute_account(execution.pk)
    services.execute_account(execution.pk)
    execution.refresh_from_db()
    assert execution.status == AccountExecution.Status.FAILED
    assert Order.objects.get().state == Order.State.FAILED
    assert list(Order.objects.get().events.values_list("to_state", flat=True)) == ["new", "submitted", "failed"]


def test_one_broker_down_does_not_stop_the_other_accounts(schema, owner, make_account, retail_tenant):
    down = make_account(retail_tenant, owner)
    healthy = make_account(retail_tenant, owner)
    fake_broker.fail_next(schema, down, times=1000)
    services.submit_signal(signal(owner, [down, healthy]))
    for execution in AccountExecution.objects.all():
        try:
            services.execute_account(execution.pk)
        except services.RetryLater:
            pass
    assert Order.objects.get(broker_account_id=healthy).state == Order.State.FILLED
    assert Order.objects.get(broker_account_id=down).state == Order.State.SUBMITTED


def test_commands_run_in_order_close_short_then_open_long(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    fake_broker.set_position(schema, account, BTC, D("-0.3"))
    services.submit_signal(signal(owner, [account], Command(Action.EXIT, BTC), Command(Action.BUY, BTC, quantity=D("0.1"))))
    run_jobs()
    close, open_ = Order.objects.order_by("command_index")
    assert (close.side, close.quantity, close.reduce_only) == ("buy", D("0.3"), True)
    assert (open_.side, open_.quantity) == ("buy", D("0.1"))
    assert close.created_at <= open_.created_at
    assert D(fake_broker.client().hget(f"{fake_broker.prefix()}:{schema}:{account}:positions", BTC)) == D("0.1")


def test_the_users_kill_switch_stops_every_order(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    engage_kill_switch(user=owner)
    services.submit_signal(signal(owner, [account]))
    run_jobs()
    assert not Order.objects.exists()
    assert AuditEvent.objects.get(stage="skipped").message == "kill switch engaged for the user"


def test_the_organisations_kill_switch_stops_every_order(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    engage_kill_switch(organization=retail_tenant)
    services.submit_signal(signal(owner, [account]))
    run_jobs()
    assert not Order.objects.exists()
    assert "organisation" in AuditEvent.objects.get(stage="skipped").message


def test_max_open_positions_blocks_a_new_position_but_not_an_exit(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    RiskLimits.objects.create(owner=owner, max_open_positions=1)
    services.submit_signal(signal(owner, [account], key="a"))
    run_jobs()
    services.submit_signal(signal(owner, [account], Command(Action.BUY, "BINANCE:ETHUSDT", quantity=D(1)), key="b"))
    run_jobs()
    assert "max open positions" in AuditEvent.objects.get(stage="skipped").message
    services.submit_signal(signal(owner, [account], Command(Action.EXIT, BTC), key="c"))
    run_jobs()
    assert Order.objects.filter(reduce_only=True, state=Order.State.FILLED).count() == 1


def test_the_daily_loss_cap_blocks_new_entries(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    RiskLimits.objects.create(owner=owner, daily_loss_cap=D(100))
    services.submit_signal(signal(owner, [account], Command(Action.BUY, BTC, quantity=D("0.1")), key="a"))
    run_jobs()
    fake_broker.set_price(BTC, D(48_000))  # a 200 loss on 0.1 BTC
    services.submit_signal(signal(owner, [account], Command(Action.EXIT, BTC), key="b"))
    run_jobs()
    services.submit_signal(signal(owner, [account], Command(Action.BUY, BTC, quantity=D("0.1")), key="c"))
    run_jobs()
    assert Order.objects.count() == 2
    assert "daily loss cap" in AuditEvent.objects.get(stage="skipped").message


def test_a_signal_needing_approval_waits_then_runs_when_approved(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    record = services.submit_signal(signal(owner, [account], requires_approval=True))
    run_jobs()
    assert not Order.objects.exists()
    assert record.status == SignalRecord.Status.AWAITING_APPROVAL
    services.approve_signal(record, owner)
    run_jobs()
    assert Order.objects.get().state == Order.State.FILLED


def test_an_unapproved_signal_expires_without_trading(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    record = services.submit_signal(signal(owner, [account], requires_approval=True))
    SignalRecord.objects.filter(pk=record.pk).update(approval_expires_at=timezone.now())
    assert services.expire_approvals() == 1
    services.approve_signal(record, owner)
    run_jobs()
    assert not Order.objects.exists()
    assert SignalRecord.objects.get().status_reason == "approval expired"


def test_take_profit_and_stop_loss_follow_a_filled_entry(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    entry = Command(Action.BUY, BTC, quantity=D("0.1"), take_profit=D(55_000), stop_loss=D(45_000))
    services.submit_signal(signal(owner, [account], entry))
    run_jobs()
    take_profit = Order.objects.get(order_type=OrderKind.LIMIT.value)
    stop = Order.objects.get(order_type=OrderKind.STOP.value)
    assert (take_profit.side, take_profit.limit_price, take_profit.reduce_only) == ("sell", D(55_000), True)
    assert (stop.side, stop.stop_price, stop.quantity) == ("sell", D(45_000), D("0.1"))
    assert take_profit.state == stop.state == Order.State.ACKNOWLEDGED


def test_cancel_cancels_the_resting_orders_in_the_symbol(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    limit = Command(Action.BUY, BTC, quantity=D("0.1"), order_type=OrderKind.LIMIT, limit_price=D(40_000))
    services.submit_signal(signal(owner, [account], limit, key="a"))
    run_jobs()
    services.submit_signal(signal(owner, [account], Command(Action.CANCEL, BTC), key="b"))
    run_jobs()
    order = Order.objects.get()
    assert order.state == Order.State.CANCELLED
    assert list(order.events.values_list("to_state", flat=True)) == ["new", "submitted", "acknowledged", "cancelled"]


def test_an_account_of_another_user_is_never_traded(schema, owner, make_account, retail_tenant, member_of):
    stranger = member_of(retail_tenant)
    theirs = make_account(retail_tenant, stranger)
    services.submit_signal(signal(owner, [theirs]))
    run_jobs()
    assert not Order.objects.exists()
    assert AccountExecution.objects.get().reason == "account belongs to another user"


def test_client_order_ids_are_deterministic_and_fit_every_exchange():
    first = services.client_order_id_for("alert:1", 5, 0)
    assert first == services.client_order_id_for("alert:1", 5, 0)
    assert first != services.client_order_id_for("alert:1", 6, 0) != services.client_order_id_for("alert:1", 5, 1)
    assert len(first) == 32 and first.isalnum()


def test_a_filled_order_records_every_step_with_its_fill_and_audit_rows(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    record = services.submit_signal(signal(owner, [account]))
    run_jobs()
    order = Order.objects.get()
    steps = list(order.events.order_by("id").values_list("from_state", "to_state"))
    assert steps == [("", "new"), ("new", "submitted"), ("submitted", "acknowledged"), ("acknowledged", "filled")]
    assert order.fills.count() == 1 and order.filled_quantity == D("0.01") and order.broker_order_id
    audited = list(AuditEvent.objects.filter(order=order).order_by("id").values_list("stage", "signal_id",
                                                                                      "broker_account_id"))
    assert [stage for stage, _s, _a in audited] == ["sized", "submitted", "acknowledged", "filled"]
    assert {(s, a) for _stage, s, a in audited} == {(record.pk, account)}


def test_opening_an_order_twice_with_one_client_id_is_refused_and_leaves_the_transaction_usable(
        schema, owner, make_account, retail_tenant):
    from django.db import IntegrityError

    account = make_account(retail_tenant, owner)
    record = services.submit_signal(signal(owner, [account]))
    execution = AccountExecution.objects.get()
    fields = dict(broker_account_id=account, command_index=0, client_order_id="dup-1", symbol=BTC, side="buy",
                  order_type="market", quantity=D("1"))
    first = services._open_order(execution, record, note="first", **fields)
    with pytest.raises(IntegrityError):
        services._open_order(execution, record, note="second", **fields)
    assert list(Order.objects.values_list("pk", flat=True)) == [first.pk]
    assert first.events.count() == 2


def test_a_dispatched_signal_is_stored_with_one_job_per_route_and_one_audit_row(
        schema, owner, make_account, retail_tenant):
    accounts = [make_account(retail_tenant, owner) for _ in range(3)]
    record = services.submit_signal(signal(owner, accounts))
    stored = SignalRecord.objects.get()
    assert (stored.pk, stored.status) == (record.pk, SignalRecord.Status.DISPATCHED)
    jobs = list(AccountExecution.objects.order_by("id"))
    assert [job.broker_account_id for job in jobs] == accounts
    assert [job.route for job in jobs] == stored.payload["routes"]
    assert {(job.status, job.attempts, job.allocation_share) for job in jobs} == {("pending", 0, None)}
    audited = AuditEvent.objects.get()
    assert (audited.stage, audited.message, audited.signal_id) == ("dispatched", "dispatched to 3 account(s)", record.pk)


def test_a_duplicate_inside_the_callers_transaction_writes_nothing_and_leaves_it_usable(
        schema, owner, make_account, retail_tenant):
    from django.db import transaction

    account = make_account(retail_tenant, owner)
    with transaction.atomic():
        first = services.submit_signal(signal(owner, [account]))
        rows = (SignalRecord.objects.count(), AccountExecution.objects.count(), AuditEvent.objects.count())
        again = services.submit_signal(signal(owner, [account]))
        assert again.pk == first.pk
        assert (SignalRecord.objects.count(), AccountExecution.objects.count(), AuditEvent.objects.count()) == rows


def test_weights_split_the_alert_between_accounts(schema, owner, make_account, retail_tenant):
    accounts = [make_account(retail_tenant, owner) for _ in range(2)]
    routes = (AccountRoute(accounts[0], weight=D(1)), AccountRoute(accounts[1], weight=D(3)))
    services.submit_signal(Signal(SignalSource.NATIVE, owner.pk, "sig-w", (Command(Action.BUY, BTC, quantity=D(1)),),
                                  routes, allocation="weights"))
    shares = dict(AccountExecution.objects.values_list("broker_account_id", "allocation_share"))
    assert shares == {accounts[0]: D("0.25"), accounts[1]: D("0.75")}


def test_equity_allocation_gives_an_unreachable_account_no_share_and_audits_it(
        schema, owner, make_account, retail_tenant):
    small, large = make_account(retail_tenant, owner, equity=D(100_000)), make_account(retail_tenant, owner,
                                                                                       equity=D(300_000))
    unknown = 999_999
    services.submit_signal(signal(owner, [small, large, unknown], allocation="equity"))
    assert SignalRecord.objects.get().status == SignalRecord.Status.DISPATCHED
    shares = dict(AccountExecution.objects.values_list("broker_account_id", "allocation_share"))
    assert shares == {small: D("0.25"), large: D("0.75"), unknown: D(0)}
    assert list(AuditEvent.objects.order_by("id").values_list("stage", "broker_account_id")) == [
        ("skipped", unknown), ("dispatched", None)]


def _advisory_locks_held() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_job_another_worker_holds_is_left_alone_and_not_counted(schema, owner, make_account, retail_tenant):
    import psycopg
    from django.db import connection

    account = make_account(retail_tenant, owner)
    services.submit_signal(signal(owner, [account]))
    execution = AccountExecution.objects.get()
    params = connection.get_connection_params()
    with psycopg.connect(dbname=params["dbname"], user=params.get("user"), host=params.get("host"),
                         port=params.get("port"), autocommit=True) as other_worker:
        other_worker.execute("SELECT pg_advisory_lock(7001, %s)", [execution.pk])
        assert services.execute_account(execution.pk) is None
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == (AccountExecution.Status.PENDING, 0)
    assert not Order.objects.exists()
    assert _advisory_locks_held() == 0


def test_a_job_lets_go_of_its_lock_however_it_ends(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    services.submit_signal(signal(owner, [account]))
    execution = AccountExecution.objects.get()
    fake_broker.fail_next(schema, account, times=3)  # more than the broker layer's own retries
    with pytest.raises(services.RetryLater):
        services.execute_account(execution.pk)
    assert _advisory_locks_held() == 0
    done = services.execute_account(execution.pk)
    assert (done.status, done.attempts) == (AccountExecution.Status.DONE, 2)
    assert _advisory_locks_held() == 0
    assert services.execute_account(execution.pk).status == AccountExecution.Status.DONE  # finished: nothing runs
    assert services.execute_account(10**9) is None
    assert _advisory_locks_held() == 0
    assert Order.objects.get().state == Order.State.FILLED
