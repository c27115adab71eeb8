"""Reads for bindings and alerts. Retail users see their own; business tenants see the whole schema."""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Organization
from execution.models import AuditEvent

from .models import Alert, WebhookBinding


def _is_retail() -> bool:
    return Organization.objects.filter(schema_name=connection.schema_name, kind=Organization.Kind.RETAIL).exists()


def bindings_for(user) -> QuerySet[WebhookBinding]:
    bindings = WebhookBinding.objects.all()
    return bindings.filter(owner=user) if _is_retail() else bindings


def binding_for(user, pk: int) -> WebhookBinding:
    return bindings_for(user).get(pk=pk)


def alerts_for(user, *, binding_id: int | None = None, status: str | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.select_related("binding")
    if _is_retail():
        alerts = alerts.filter(binding__owner=user)
    if binding_id:
        alerts = alerts.filter(binding_id=binding_id)
    if status:
        alerts = alerts.filter(status=status)
    return alerts


def audit_for_alert(alert: Alert) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(alert_id=alert.pk).select_related("order").order_by("at", "id")


def alert_message_templates(binding: WebhookBinding, passphrase: str = "") -> dict[str, str]:
    """The exact alert messages to paste into TradingView for this binding."""
    secret = passphrase or ("YOUR-PASSPHRASE" if binding.passphrase_hash else "")
    strategy = {
        "id": "{{strategy.order.id}}-{{timenow}}",
        "ticker": "{{exchange}}:{{ticker}}",
        "action": "{{strategy.order.action}}",
        "contracts": "{{strategy.order.contracts}}",
        "close": "{{close}}",
        "position_size": "{{strategy.position_size}}",
        "market_position": "{{strategy.market_position}}",
        "prev_market_position": "{{strategy.prev_market_position}}",
        "market_position_size": "{{strategy.market_position_size}}",
        "order_id": "{{strategy.order.id}}",
        "timenow": "{{timenow}}",
    }
    indicator = {"action": "buy", "ticker": "{{exchange}}:{{ticker}}", "quantity": "1", "close": "{{close}}",
                 "timenow": "{{timenow}}"}
    multi = {"commands": [{"action": "exit", "symbol": "{{exchange}}:{{ticker}}"},
                          {"action": "buy", "symbol": "{{exchange}}:{{ticker}}", "quantity": "1"}],
             "timenow": "{{timenow}}"}
    if secret:
        strategy = {"passphrase": secret, **strategy}
        indicator = {"passphrase": secret, **indicator}
        multi = {"passphrase": secret, **multi}
    text = "buy {{exchange}}:{{ticker}} 1" + (f" passphrase={secret}" if secret else "")
    return {
        "strategy": json.dumps(strategy, indent=2),
        "indicator": json.dumps(indicator, indent=2),
        "reverse": json.dumps(multi, indent=2),
        "text": text,
        "strategy_message": '{"action": "buy", "symbol": "BINANCE:BTCUSDT", "quantity": "0.01"}',
    }
