"""Webhook bindings and the alert intake. The HTTP view only translates ``ingest_alert``'s reply."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Organization
from accounts.services import check_plan_limit
from execution import brokerage, live
from execution import services as execution_services
from execution.models import AuditEvent
from execution.signals import (
    AccountRoute,
    Direction,
    DriftPolicy,
    Filters,
    SessionWindow,
    Signal,
    SignalSource,
    SizingMode,
    SizingRule,
    command_from_json,
    position_hint_from_json,
)
from fourpass.sql import is_schema_name, prepared_cursor, table

from .models import Alert, BindingAccount, WebhookBinding
from .parsing import AlertFormatError, ParsedAlert, parse_alert
from .routing.models import HookRoute

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
TOKEN_BYTES = 32  # 256 bits


@dataclass(frozen=True, slots=True)
class HookReply:
    status: int
    body: dict[str, Any]
    alert_id: int | None = None
    schema_name: str = ""
    # work that may wait until the reply is on its way (queueing the stored alert); run it exactly once
    followup: Callable[[], None] | None = None


# ----------------------------------------------------------------------------- tokens


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def generate_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _install_token(binding: WebhookBinding) -> str:
    token = generate_token()
    binding.token_hash = hash_secret(token)
    binding.token_hint = token[-6:]
    return token


# ----------------------------------------------------------------------------- bindings


def _organization() -> Organization | None:
    """The tenant of the current schema (schema_context does not set a real tenant object)."""
    return Organization.objects.filter(schema_name=connection.schema_name).first()


@dataclass
class AccountLink:
    """How one broker account takes part in a binding (form/API input)."""

    broker_account_id: int
    enabled: bool = True
    sizing_mode: str = BindingAccount.Sizing.AS_ALERT
    sizing_value: Decimal = Decimal(1)
    stop_distance: Decimal | None = None
    direction: str = BindingAccount.Direction.BOTH
    allowed_symbols: list[str] = field(default_factory=list)
    session_weekdays: list[int] = field(default_factory=list)
    session_start: str = "00:00"
    session_end: str = "24:00"
    max_position: Decimal | None = None
    max_orders_per_day: int | None = None
    ignore_if_in_position: bool = False
    default_exchange: str = ""
    symbol_overrides: dict[str, str] = field(default_factory=dict)
    weight: Decimal | None = None


BINDING_OPTIONS = (
    "enabled", "max_signal_age_seconds", "max_exit_signal_age_seconds", "drift_policy", "allocation",
    "requires_approval", "approval_timeout_minutes", "dedupe_window_seconds", "rate_limit_per_minute",
)  # fmt: skip


def validate_ip_allowlist(entries: list[str]) -> list[str]:
    cleaned = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValidationError({"ip_allowlist": f"{entry!r} is not an IP address or network"}) from None
        cleaned.append(entry)
    return cleaned


def create_binding(
    owner,
    name: str,
    *,
    passphrase: str = "",
    ip_allowlist: list[str] | None = None,
    accounts: list[AccountLink] | None = None,
    **options: Any,
) -> tuple[WebhookBinding, str]:
    """Create a binding; returns it with the plaintext token (shown once, only its hash is stored)."""
    count = WebhookBinding.objects.filter(owner=owner).count()
    check_plan_limit(owner, "max_webhook_bindings", count + 1, _organization())
    with transaction.atomic():
        binding = WebhookBinding(owner=owner, name=name.strip() or "TradingView alerts")
        for key, value in options.items():
            if key not in BINDING_OPTIONS:
                raise TypeError(f"unknown binding option {key}")
            setattr(binding, key, value)
        token = _install_token(binding)
        binding.passphrase_hash = hash_secret(passphrase) if passphrase else ""
        binding.ip_allowlist = validate_ip_allowlist(ip_allowlist or [])
        binding.save()
        _publish_route(binding)
        if accounts:
            set_binding_accounts(binding, accounts)
    return binding, token


def update_binding(binding: WebhookBinding, *, passphrase: str | None = None, ip_allowlist: list[str] | None = None,
                   name: str | None = None, **options: Any) -> WebhookBinding:
    for key, value in options.items():
        if key not in BINDING_OPTIONS:
            raise TypeError(f"unknown binding option {key}")
        setattr(binding, key, value)
    if name is not None:
        binding.name = name.strip() or binding.name
    if passphrase is not None:
        binding.passphrase_hash = hash_secret(passphrase) if passphrase else ""
    if ip_allowlist is not None:
        binding.ip_allowlist = validate_ip_allowlist(ip_allowlist)
    binding.save()
    return binding


def rotate_token(binding: WebhookBinding) -> str:
    """A new token; the old URL stops working immediately."""
    with transaction.atomic():
        old_hash = binding.token_hash
        token = _install_token(binding)
        binding.rotated_at = timezone.now()
        binding.save(update_fields=["token_hash", "token_hint", "rotated_at"])
        schema = connection.schema_name
        with schema_context("public"):
            HookRoute.objects.filter(token_hash=old_hash).delete()
            HookRoute.objects.create(token_hash=binding.token_hash, schema_name=schema, binding_id=binding.pk)
    return token


def delete_binding(binding: WebhookBinding) -> None:
    with transaction.atomic():
        token_hash = binding.token_hash
        binding.delete()
        with schema_context("public"):
            HookRoute.objects.filter(token_hash=token_hash).delete()


def _publish_route(binding: WebhookBinding) -> None:
    schema = connection.schema_name
    with schema_context("public"):
        HookRoute.objects.create(token_hash=binding.token_hash, schema_name=schema, binding_id=binding.pk)


def set_binding_accounts(binding: WebhookBinding, links: list[AccountLink]) -> list[BindingAccount]:
    """Replace the binding's linked accounts. Every account must exist in this tenant and belong to the owner."""
    ids = [link.broker_account_id for link in links]
    if len(set(ids)) != len(ids):
        raise ValidationError({"accounts": "an account can be linked only once"})
    check_plan_limit(binding.owner, "max_accounts_per_binding", len(links), _organization())
    for link in links:
        try:
            account = brokerage.get_account(link.broker_account_id)
        except brokerage.AccountUnavailable as error:
            raise ValidationError({"accounts": str(error)}) from None
        if account.owner_id != binding.owner_id:
            raise ValidationError({"accounts": f"account {link.broker_account_id} does not exist"})
        _validate_link(link)
    with transaction.atomic():
        binding.accounts.exclude(broker_account_id__in=ids).delete()
        rows = []
        for link in links:
            values = {k: v for k, v in link.__dict__.items() if k != "broker_account_id"}
            row, _ = BindingAccount.objects.update_or_create(
                binding=binding, broker_account_id=link.broker_account_id, defaults=values
            )
            rows.append(row)
    return rows


def _validate_link(link: AccountLink) -> None:
    if link.sizing_mode not in BindingAccount.Sizing.values:
        raise ValidationError({"sizing_mode": f"unknown sizing {link.sizing_mode!r}"})
    if link.sizing_value is None or Decimal(link.sizing_value) <= 0:
        raise ValidationError({"sizing_value": "must be greater than zero"})
    if link.sizing_mode == BindingAccount.Sizing.RISK and link.stop_distance is not None and link.stop_distance <= 0:
        raise ValidationError({"stop_distance": "must be greater than zero"})
    for value in (link.session_start, link.session_end):
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00", value):
            raise ValidationError({"session": f"{value!r} is not HH:MM"})
    if any(day not in range(7) for day in link.session_weekdays):
        raise ValidationError({"session_weekdays": "weekdays are 0 (Monday) to 6 (Sunday)"})


def route_for(link: BindingAccount) -> AccountRoute:
    session = None
    if link.session_weekdays:
        session = SessionWindow(tuple(link.session_weekdays), link.session_start, link.session_end)
    return AccountRoute(
        account_id=link.broker_account_id,
        sizing=SizingRule(SizingMode(link.sizing_mode), Decimal(link.sizing_value), link.stop_distance),
        filters=Filters(
            direction=Direction(link.direction),
            allowed_symbols=tuple(link.allowed_symbols or ()),
            session=session,
            max_position=link.max_position,
            max_orders_per_day=link.max_orders_per_day,
            ignore_if_in_position=link.ignore_if_in_position,
        ),
        default_exchange=link.default_exchange,
        symbol_overrides=dict(link.symbol_overrides or {}),
        weight=link.weight,
    )


def record_drift(binding_id: int, account_id: int, description: str) -> None:
    with transaction.atomic():
        binding = WebhookBinding.objects.select_for_update().filter(pk=binding_id).first()
        if binding is None:
            return
        drift = dict(binding.last_drift or {})
        drift[str(account_id)] = {"at": timezone.now().isoformat(), "message": description}
        binding.last_drift = drift
        binding.save(update_fields=["last_drift"])


# ----------------------------------------------------------------------------- intake


def client_ip_allowed(binding: WebhookBinding, ip: str | None) -> bool:
    if not binding.ip_allowlist:
        return True
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in binding.ip_allowlist)


_REDACT_JSON = re.compile(r'("passphrase"\s*:\s*)"(?:[^"\\]|\\.)*"')
_REDACT_TEXT = re.compile(r"(passphrase=)\S+", re.IGNORECASE)


def redact(body: str) -> str:
    return _REDACT_TEXT.sub(r"\1***", _REDACT_JSON.sub(r'\1"***"', body))


# INCR each key (a key may repeat: one per alert) and, for the first alert of a minute, EXPIRE it; the count
# after each increment comes back in order. One round trip for a whole batch of alerts.
_COUNT_IN_WINDOW = """
local counts = {}
for i, key in ipairs(KEYS) do
    local n = redis.call('INCR', key)
    if n == 1 then redis.call('EXPIRE', key, ARGV[1]) end
    counts[i] = n
end
return counts
"""
_count_scripts: dict[str, redis.commands.core.Script] = {}


def _count_in_window() -> redis.commands.core.Script:
    """The counting script on one pooled client per process (thread-safe); short timeouts so Redis trouble
    cannot stall the door."""
    url = settings.REDIS_URL
    if url not in _count_scripts:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        _count_scripts[url] = client.register_script(_COUNT_IN_WINDOW)
    return _count_scripts[url]


def _over_rate_limits(gates: list[Gate]) -> list[bool]:
    """For each alert (its binding's gate, in arrival order): is it over its binding's per-minute limit?"""
    if not gates:
        return []
    minute = int(timezone.now().timestamp() // 60)
    keys = [cache.make_key(f"hookrate:{gate.token_hash[:16]}:{minute}") for gate in gates]
    try:
        counts = _count_in_window()(keys=keys, args=[90])
    except Exception:  # Redis trouble must not block trading alerts
        logger.warning("rate limiter unavailable", exc_info=True)
        return [False] * len(gates)
    return [count > gate.rate_limit_per_minute for count, gate in zip(counts, gates, strict=True)]


@dataclass(frozen=True, slots=True)
class Gate:
    """What the door checks for one binding, read afresh for every batch of alerts (never cached, so disabling a
    binding, rotating its token or changing its passphrase takes effect with the next alert)."""

    schema: str
    binding_id: int
    owner_id: int
    token_hash: str
    enabled: bool
    passphrase_hash: str
    ip_allowlist: list[str]
    rate_limit_per_minute: int
    dedupe_window_seconds: int
    max_signal_age_seconds: int | None
    max_exit_signal_age_seconds: int | None


_GATE_COLUMNS = ("owner_id", "token_hash", "enabled", "passphrase_hash", "ip_allowlist", "rate_limit_per_minute",
                 "dedupe_window_seconds", "max_signal_age_seconds", "max_exit_signal_age_seconds")
# token hash -> (schema, binding id). A route never changes meaning (rotation makes a new hash), and the gate
# re-checks the binding's current hash, so caching found routes is safe; unknown tokens are never cached.
_routes: dict[str, tuple[str, int]] = {}
_ROUTE_CACHE_SIZE = 10_000


def _route(token_hash: str) -> tuple[str, int] | None:
    found = _routes.get(token_hash)
    if found is None:
        row = HookRoute.objects.filter(token_hash=token_hash).values_list("schema_name", "binding_id").first()
        if row is None or not is_schema_name(row[0]):
            return None
        if len(_routes) >= _ROUTE_CACHE_SIZE:
            _routes.clear()
        found = _routes[token_hash] = (row[0], row[1])
    return found


def _gates(schema: str, binding_ids: list[int]) -> dict[int, Gate]:
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(_GATE_COLUMNS)} FROM {table(schema, WebhookBinding)} "  # noqa: S608
                       "WHERE id = ANY(%s)", [binding_ids], prepare=True)
        rows = cursor.fetchall()
    gates = {}
    for binding_id, *row in rows:
        values = dict(zip(_GATE_COLUMNS, row, strict=True))
        if isinstance(values["ip_allowlist"], str):
            values["ip_allowlist"] = json.loads(values["ip_allowlist"])
        gates[binding_id] = Gate(schema=schema, binding_id=binding_id, **values)
    return gates


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST to /hook/<token>, as it arrived."""

    token: str
    body: bytes
    content_type: str = ""
    source_ip: str | None = None


# what a sender gets when its alert could not be stored: not stored, so TradingView's re-send is welcome
UNAVAILABLE = HookReply(503, {"error": "the alert could not be stored; send it again"})


def ingest_alert(token: str, body: bytes, *, content_type: str = "", source_ip: str | None = None,
                 defer_followup: bool = False) -> HookReply:
    """Authenticate, validate and durably store one alert; the reply is what the HTTP endpoint answers.

    After the alert is stored the reply is always 2xx: processing continues in Dramatiq. With
    `defer_followup` the caller runs ``reply.followup`` (queueing the alert) after answering; if it never does,
    the sweeper queues the alert within a minute.
    """
    reply = ingest_alerts([Delivery(token, body, content_type, source_ip)])[0]
    if reply.followup is not None and not defer_followup:
        transaction.on_commit(reply.followup)  # at once, unless the caller holds a transaction open
        return dataclasses.replace(reply, followup=None)
    return reply


def ingest_alerts(deliveries: list[Delivery]) -> list[HookReply]:
    """``ingest_alert`` for several alerts at once, replies in the same order; the caller runs each reply's
    followup after answering.

    The web process stores together whatever arrived while its previous alerts were being stored (a bar close
    brings dozens in the same few milliseconds): one read of the bindings per tenant schema, one Redis call for
    the rate limits and one short transaction for the lot, instead of the same per alert. Each alert is judged
    exactly as if it had arrived alone: duplicates inside one batch are stored one after the other, and an
    alert that cannot be stored fails alone (503) without failing the others.
    """
    replies: list[HookReply | None] = [None] * len(deliveries)
    gates = _gates_for(deliveries)
    open_door: list[int] = []
    for index, (delivery, gate) in enumerate(zip(deliveries, gates, strict=True)):
        if gate is None:
            logger.info("webhook with an unknown token from %s", delivery.source_ip)  # no owner to show it to
            replies[index] = HookReply(404, {"error": "not found"})
        else:
            replies[index] = _refused_at_the_door(gate, delivery)
            if replies[index] is None:
                open_door.append(index)
    valid: list[_ValidAlert] = []
    for index, over in zip(open_door, _over_rate_limits([gates[i] for i in open_door]), strict=True):
        gate, delivery = gates[index], deliveries[index]
        if over:
            replies[index] = _reject(gate, delivery, 429, f"more than {gate.rate_limit_per_minute} alerts per minute")
            continue
        checked = _check_content(gate, delivery)
        if isinstance(checked, HookReply):
            replies[index] = checked
        else:
            text, parsed = checked
            valid.append(_ValidAlert(index, gate, delivery, text, parsed,
                                     *_dedupe_key(gate.binding_id, parsed, text)))
    for alert, reply in _store_valid(valid):
        replies[alert.index] = reply
    return [dataclasses.replace(reply, schema_name=gate.schema) if gate is not None and reply.status != 503 else reply
            for reply, gate in zip(replies, gates, strict=True)]


def _gates_for(deliveries: list[Delivery]) -> list[Gate | None]:
    """Each delivery's binding gate, or None for an unknown token: one statement per tenant schema."""
    routes = []
    for delivery in deliveries:
        token_hash = hash_secret(delivery.token) if 20 <= len(delivery.token) <= 100 else ""
        routes.append((token_hash, _route(token_hash) if token_hash else None))
    wanted: dict[str, set[int]] = {}
    for _token_hash, route in routes:
        if route is not None:
            wanted.setdefault(route[0], set()).add(route[1])
    found = {schema: _gates(schema, sorted(ids)) for schema, ids in wanted.items()}
    gates: list[Gate | None] = []
    for token_hash, route in routes:
        gate = found[route[0]].get(route[1]) if route is not None else None
        # a rotated token's old route still points at the binding: only the current hash opens it
        gates.append(gate if gate is not None and hmac.compare_digest(gate.token_hash, token_hash) else None)
    return gates


def _reject(gate: Gate, delivery: Delivery, status: int, reason: str, **extra: Any) -> HookReply:
    text = delivery.body[:MAX_BODY_BYTES].decode("utf-8", errors="replace")
    with schema_context(gate.schema):
        alert = Alert.objects.create(
            binding_id=gate.binding_id, body=redact(text), content_type=delivery.content_type[:100],
            source_ip=delivery.source_ip, status=Alert.Status.REJECTED, http_status=status, reason=reason[:500],
        )
        AuditEvent.objects.create(alert_id=alert.pk, stage=AuditEvent.Stage.REJECTED, message=reason[:500],
                                  data={"http_status": status})
        push_alert(alert, owner_id=gate.owner_id)
    return HookReply(status, {"error": reason, **extra}, alert.pk)


def _refused_at_the_door(gate: Gate, delivery: Delivery) -> HookReply | None:
    if not gate.enabled:
        return _reject(gate, delivery, 403, "this webhook is disabled")
    if not client_ip_allowed(gate, delivery.source_ip):
        return _reject(gate, delivery, 403, f"source address {delivery.source_ip} is not in the allow-list")
    if len(delivery.body) > MAX_BODY_BYTES:
        return _reject(gate, delivery, 413, f"body is larger than {MAX_BODY_BYTES} bytes")
    return None


def _check_content(gate: Gate, delivery: Delivery) -> HookReply | tuple[str, ParsedAlert]:
    """The decoded body and the parsed alert, or the reply refusing it."""
    try:
        decoded = delivery.body.decode("utf-8")
    except UnicodeDecodeError:
        return _reject(gate, delivery, 400, "body: not UTF-8 text", field="body")
    try:
        parsed = parse_alert(decoded)
    except AlertFormatError as error:
        return _reject(gate, delivery, 400, str(error), field=error.field)
    if gate.passphrase_hash:
        given = hash_secret(parsed.passphrase or "")
        if not hmac.compare_digest(given, gate.passphrase_hash):
            return _reject(gate, delivery, 401, "wrong or missing passphrase")
    return decoded, parsed


@dataclass(frozen=True, slots=True)
class _ValidAlert:
    index: int
    gate: Gate
    delivery: Delivery
    text: str
    parsed: ParsedAlert
    key: str  # the idempotency key (explicit id, or body hash)
    body_hash: str


def _dedupe_key(binding_id: int, parsed: ParsedAlert, body: str) -> tuple[str, str]:
    body_hash = hashlib.sha256(f"{binding_id}\n{body}".encode()).hexdigest()
    if parsed.explicit_id:
        return f"id:{parsed.explicit_id}", body_hash
    return f"body:{body_hash}", body_hash


def _stale_reason(gate: Gate, parsed: ParsedAlert, now: dt.datetime) -> str | None:
    if parsed.sent_at is None:
        return None
    exits_only = all(c.is_exit for c in parsed.commands)
    limit = gate.max_exit_signal_age_seconds if exits_only else gate.max_signal_age_seconds
    if limit is None and exits_only:
        limit = gate.max_signal_age_seconds
    if limit is None:
        return None
    age = (now - parsed.sent_at).total_seconds()
    if age > limit:
        return f"signal is {age:.0f} s old (limit {limit} s)"
    return None


def _parsed_json(parsed: ParsedAlert) -> dict[str, Any]:
    from dataclasses import asdict

    signal_like = {
        "format": parsed.format,
        "commands": [asdict(c) for c in parsed.commands],
        "explicit_id": parsed.explicit_id,
        "sent_at": parsed.sent_at.isoformat() if parsed.sent_at else None,
        "position_hint": asdict(parsed.position_hint) if parsed.position_hint else None,
    }
    return json.loads(json.dumps(signal_like, default=str))


# one advisory lock per (binding, key), taken in a fixed order so two batches cannot deadlock on each other
_LOCK_KEYS_SQL = ("SELECT pg_advisory_xact_lock(7002, h) FROM (SELECT DISTINCT hashtext(k) AS h "
                  "FROM unnest(%s::text[]) AS k ORDER BY 1) AS ordered")


@functools.cache
def _store_sql(schema: str) -> str:
    """One statement for a batch of alerts of one schema (parameters are arrays, one element per alert): find an
    earlier alert with the same key, insert each alert as accepted/stale/duplicate, and its two audit steps
    (received, then the outcome). Run under the keys' advisory locks, so two identical alerts arriving together
    are decided one after the other. Ids are drawn first so each result row is matched to its alert."""
    status, stage = Alert.Status, AuditEvent.Stage
    alerts = table(schema, Alert)
    sequence = f"{schema}.{Alert._meta.db_table}_id_seq"
    # identifiers come from fourpass.sql.table and Django, every value is a parameter
    return f"""
WITH input AS MATERIALIZED (
    SELECT nextval('{sequence}') AS id, x.*
    FROM unnest(%(binding)s::bigint[], %(key)s::text[], %(dedupe)s::boolean[], %(since)s::timestamptz[],
                %(body)s::text[], %(content_type)s::text[], %(source_ip)s::inet[], %(stale)s::text[],
                %(body_hash)s::text[], %(parsed)s::jsonb[], %(received)s::text[], %(validated)s::text[])
        WITH ORDINALITY AS x (binding, key, dedupe, since, body, content_type, source_ip, stale, body_hash, parsed,
                              received, validated, ord)
), decided AS (
    SELECT input.*, earlier.id AS earlier_id FROM input LEFT JOIN LATERAL (
        SELECT a.id FROM {alerts} AS a
        WHERE input.dedupe AND a.binding_id = input.binding AND a.idempotency_key = input.key
          AND a.status NOT IN ('{status.REJECTED}', '{status.DUPLICATE}') AND a.received_at >= input.since
        ORDER BY a.id LIMIT 1
    ) AS earlier ON TRUE
), inserted AS (
    INSERT INTO {alerts} (id, binding_id, received_at, body, content_type, source_ip, status, http_status, reason,
        idempotency_key, body_hash, duplicate_of_id, parsed)
    SELECT id, binding, %(now)s, body, content_type, source_ip,
        CASE WHEN earlier_id IS NOT NULL THEN '{status.DUPLICATE}'
             WHEN stale <> '' THEN '{status.STALE}' ELSE '{status.ACCEPTED}' END,
        200,
        CASE WHEN earlier_id IS NOT NULL THEN 'duplicate of alert #' || earlier_id ELSE stale END,
        key, body_hash, earlier_id, parsed
    FROM decided
    RETURNING id, status, duplicate_of_id, reason
), audit AS (
    INSERT INTO {table(schema, AuditEvent)} (alert_id, stage, message, at)
    SELECT inserted.id, step.stage, step.message, %(now)s
    FROM inserted JOIN decided USING (id) CROSS JOIN LATERAL (VALUES
        (1, '{stage.RECEIVED}'::varchar, decided.received),
        (2, CASE inserted.status WHEN '{status.DUPLICATE}' THEN '{stage.DUPLICATE}'
                                 WHEN '{status.STALE}' THEN '{stage.STALE}' ELSE '{stage.VALIDATED}' END,
            CASE inserted.status WHEN '{status.ACCEPTED}' THEN decided.validated ELSE inserted.reason END)
    ) AS step (n, stage, message)
    ORDER BY inserted.id, step.n
)
SELECT decided.ord, inserted.id, inserted.status, inserted.duplicate_of_id
FROM inserted JOIN decided USING (id)"""  # noqa: S608


_STORE_COLUMNS = ("binding", "key", "dedupe", "since", "body", "content_type", "source_ip", "stale", "body_hash",
                  "parsed", "received", "validated")


def _store_valid(alerts: list[_ValidAlert]) -> list[tuple[_ValidAlert, HookReply]]:
    """Store valid alerts; an alert whose twin (same binding and key) is earlier in the batch waits for the
    next round, so it is judged against the stored twin exactly as if it had come later."""
    results: list[tuple[_ValidAlert, HookReply]] = []
    waiting = alerts
    while waiting:
        this_round: list[_ValidAlert] = []
        later: list[_ValidAlert] = []
        seen: set[tuple[int, str]] = set()
        for alert in waiting:
            twin = (alert.gate.binding_id, alert.key)
            (later if twin in seen else this_round).append(alert)
            seen.add(twin)
        try:
            results.extend(_store_round(this_round))
        except Exception:
            if len(this_round) == 1:
                logger.exception("alert for binding %s could not be stored", this_round[0].gate.binding_id)
                results.append((this_round[0], UNAVAILABLE))
            else:  # find the one that fails: the others are stored on their own
                logger.warning("storing %d alerts together failed; storing them one by one", len(this_round),
                               exc_info=True)
                later = this_round[1:] + later
                results.extend(_store_valid(this_round[:1]))
        waiting = later
    return results


def _store_round(alerts: list[_ValidAlert]) -> list[tuple[_ValidAlert, HookReply]]:
    now = timezone.now()
    rows: dict[str, list[tuple[_ValidAlert, tuple]]] = {}
    stale_reasons: dict[int, str] = {}
    lock_keys: list[str] = []
    for alert in alerts:
        gate, parsed, key = alert.gate, alert.parsed, alert.key
        stale = _stale_reason(gate, parsed, now) or ""
        stale_reasons[alert.index] = stale
        # an explicit id is unique for ever; a body hash only within the binding's window (0 = no de-duplication)
        since = dt.datetime.min.replace(tzinfo=dt.UTC) if parsed.explicit_id else now - dt.timedelta(
            seconds=gate.dedupe_window_seconds)
        source_ip = alert.delivery.source_ip
        rows.setdefault(gate.schema, []).append((alert, (
            gate.binding_id, key, bool(parsed.explicit_id or gate.dedupe_window_seconds), since, redact(alert.text),
            alert.delivery.content_type[:100], source_ip, stale[:500], alert.body_hash, json.dumps(_parsed_json(parsed)),
            f"{parsed.format} alert from {source_ip or 'unknown'}"[:500], f"{len(parsed.commands)} command(s)",
        )))
        lock_keys.append(f"{gate.binding_id}:{key}")
    stored: list[tuple[_ValidAlert, int, str, int | None]] = []
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(_LOCK_KEYS_SQL, [lock_keys], prepare=True)
        cursor.fetchall()
        for schema, schema_rows in rows.items():
            params: dict[str, Any] = {name: list(column) for name, column in
                                      zip(_STORE_COLUMNS, zip(*(values for _alert, values in schema_rows), strict=True),
                                          strict=True)}
            params["now"] = now
            cursor.execute(_store_sql(schema), params, prepare=True)
            for ordinal, alert_id, status, duplicate_of in cursor.fetchall():
                stored.append((schema_rows[ordinal - 1][0], alert_id, status, duplicate_of))
    results = []
    for alert, alert_id, status, duplicate_of in sorted(stored, key=lambda row: row[0].index):
        gate = alert.gate
        # accepted alerts are pushed by the worker once processed; the others only to an open page (the row is
        # read for its rendering, not worth a query per duplicate when nobody looks)
        if status != Alert.Status.ACCEPTED and live.is_watched(gate.schema, gate.owner_id):
            with schema_context(gate.schema):
                push_alert(Alert.objects.get(pk=alert_id), owner_id=gate.owner_id)
        payload: dict[str, Any] = {"status": status, "alert_id": alert_id}
        if duplicate_of:
            payload["duplicate_of"] = duplicate_of
        if stale_reasons[alert.index]:
            payload["reason"] = stale_reasons[alert.index]
        followup = functools.partial(enqueue_alert, gate.schema, alert_id) if status == Alert.Status.ACCEPTED else None
        results.append((alert, HookReply(202 if status == Alert.Status.STALE else 200, payload, alert_id,
                                          followup=followup)))
    return results


def warm_up_intake() -> None:
    """Open this thread's database and Redis connections before the first alert arrives: a cold storer thread
    added 15-20 ms to the first alerts it stored (connection set-up, query compilation, the rate-limit script's
    first load), which a freshly started web process paid exactly when a bar close brought it 25 alerts at once."""
    connection.ensure_connection()
    _route("0" * 64)
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(_LOCK_KEYS_SQL, [["warm-up"]], prepare=True)
        cursor.fetchall()
    cache.make_key("warm-up")
    script = _count_in_window()
    script.registered_client.script_load(script.script)


def warm_up_queueing() -> None:
    """Import the actors and load the queue broker's scripts before the first stored alert is queued: done
    lazily, that first queueing held the interpreter lock for about 10 ms while replies were due."""
    import dramatiq

    from . import actors  # noqa: F401

    broker = dramatiq.get_broker()
    for script in getattr(broker, "scripts", {}).values():  # Redis broker: Lua scripts, loaded once per server
        script.registered_client.script_load(script.script)


def enqueue_alert(schema: str, alert_id: int) -> None:
    from .actors import process_alert_job

    try:
        process_alert_job.send(schema, alert_id)
    except Exception:  # the alert is stored; the sweeper picks it up
        logger.exception("could not enqueue alert %s; the sweeper will retry", alert_id)


# Alerts stored together are queued a few per message: one Redis call per alert cost the web process a third of
# its CPU at bar close, while a handful per message still lets every worker take a share.
ALERTS_PER_MESSAGE = 8


def enqueue_alerts(stored: list[tuple[str, int]]) -> None:
    """Queue stored alerts ((schema, alert id) in arrival order) for processing, a few per message."""
    from .actors import process_alerts_job

    by_schema: dict[str, list[int]] = {}
    for schema, alert_id in stored:
        by_schema.setdefault(schema, []).append(alert_id)
    for schema, ids in by_schema.items():
        for start in range(0, len(ids), ALERTS_PER_MESSAGE):
            chunk = ids[start:start + ALERTS_PER_MESSAGE]
            try:
                if len(chunk) == 1:
                    enqueue_alert(schema, chunk[0])
                else:
                    process_alerts_job.send(schema, chunk)
            except Exception:  # stored; the sweeper picks them up
                logger.exception("could not enqueue alerts %s; the sweeper will retry", chunk)


# ----------------------------------------------------------------------------- processing


def signal_for(alert: Alert) -> Signal:
    binding = alert.binding
    parsed = alert.parsed or {}
    routes = tuple(route_for(link) for link in binding.accounts.filter(enabled=True))
    return Signal(
        source=SignalSource.WEBHOOK,
        owner_id=binding.owner_id,
        idempotency_key=f"alert:{alert.pk}",
        commands=tuple(command_from_json(c) for c in parsed.get("commands", [])),
        routes=routes,
        binding_id=binding.pk,
        alert_id=alert.pk,
        signal_time=dt.datetime.fromisoformat(parsed["sent_at"]) if parsed.get("sent_at") else None,
        position_hint=position_hint_from_json(parsed.get("position_hint")),
        drift_policy=DriftPolicy(binding.drift_policy),
        requires_approval=binding.requires_approval,
        approval_expires_after=dt.timedelta(minutes=binding.approval_timeout_minutes),
        allocation=binding.allocation,
    )


def process_alert(alert_id: int) -> None:
    """Turn a stored alert into a signal for the execution core. Idempotent (the signal key is the alert)."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("binding").filter(pk=alert_id).first()
        if alert is None or alert.status != Alert.Status.ACCEPTED:
            return
        signal = signal_for(alert)
        record = execution_services.submit_signal(signal)
        alert.status = Alert.Status.PROCESSED
        alert.processed_at = timezone.now()
        alert.save(update_fields=["status", "processed_at"])
    if not signal.routes:
        execution_services.audit(AuditEvent.Stage.SKIPPED, signal=record, message="no enabled account is linked")
    push_alert(alert)


def process_alerts(alert_ids: list[int]) -> None:
    """Several stored alerts of one schema, in order. Each is processed on its own: one that fails is queued
    again alone (with the single-alert actor's retries) and does not hold back the rest."""
    for alert_id in alert_ids:
        try:
            process_alert(alert_id)
        except Exception:
            logger.warning("alert %s failed in a batch; queued again on its own", alert_id, exc_info=True)
            enqueue_alert(connection.schema_name, alert_id)


def push_alert(alert: Alert, *, owner_id: int | None = None) -> None:
    """Insert the alert's row at the top of the owner's open alert logs."""
    try:
        def html() -> str:
            row = render_to_string("webhooks/partials/alert_row.html", {"alert": alert})
            return f'<tbody hx-swap-oob="afterbegin:#alert-rows">{row}</tbody>'

        live.push(connection.schema_name, owner_id or alert.binding.owner_id, "alert",
                  {"id": alert.pk, "status": alert.status}, html=html)
    except Exception:  # best effort: the database is the record
        logger.warning("push of alert %s failed", alert.pk, exc_info=True)


def sweep_alerts(older_than: dt.timedelta = dt.timedelta(seconds=60), limit: int = 1000) -> int:
    """Re-enqueue alerts stored but never processed (queue down, worker crash before the signal).

    Each swept alert is stamped (``processed_at`` holds the last re-enqueue time while still accepted), so a
    long but healthy backlog is not re-enqueued on every sweep.
    """
    now = timezone.now()
    cutoff = now - older_than
    stale = Alert.objects.filter(status=Alert.Status.ACCEPTED, received_at__lt=cutoff).filter(
        Q(processed_at__isnull=True) | Q(processed_at__lt=cutoff)
    )
    ids = list(stale.values_list("pk", flat=True)[:limit])
    Alert.objects.filter(pk__in=ids).update(processed_at=now)
    for alert_id in ids:
        enqueue_alert(connection.schema_name, alert_id)
    return len(ids)
