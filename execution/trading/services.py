"""Manual orders: read the market facts a ticket needs, and hand a checked ticket to the execution core.

There is one order path: ``place_manual_order`` builds a normalized ``Signal`` (source "manual") and calls
``execution.services.submit_signal``, so a manual order gets the same idempotent client order id, risk
checks, state history and audit trail as a webhook or native-strategy order.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from django.utils import timezone

from brokers.core.errors import BrokerError, SymbolError
from brokers.core.symbols import MarketType, parse_tradingview
from brokers.models import BrokerAccount
from brokers.services import get_broker_service
from execution.models import SignalRecord
from execution.services import submit_signal
from execution.signals import AccountRoute, Action, Command, OrderKind, Signal, SignalSource

from .ticket import CheckedTicket, MarketFacts, TicketInvalid

logger = logging.getLogger(__name__)
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


class TradingUnavailable(Exception):
    """The broker could not answer (or the symbol is unknown); the message is for the user."""


def can_short(account: BrokerAccount) -> bool:
    if account.market_type in (MarketType.PERP, MarketType.FUTURE):
        return True
    if account.kind == BrokerAccount.Kind.PAPER:
        return bool((account.settings or {}).get("allow_short", False))
    return False


def market_facts(account: BrokerAccount, symbol: str) -> MarketFacts:
    """Lot/tick rules, the signed position and the last price of `symbol` on `account`."""
    try:
        normalized = parse_tradingview(symbol)
    except SymbolError as error:
        raise TradingUnavailable(str(error)) from error
    try:
        service = get_broker_service(account)
    except (BrokerError, ValueError) as error:
        raise TradingUnavailable(f"{account.name}: {error}") from error
    try:
        instrument = service.instrument(normalized)
        position = service.position_quantity(normalized)
        price = service.reference_price(normalized)
    except SymbolError as error:
        raise TradingUnavailable(str(error)) from error
    except BrokerError as error:
        raise TradingUnavailable(f"{account.name} did not answer: {error}") from error
    finally:
        try:
            service.close()
        except Exception:  # closing is best effort; the answer is already in hand
            logger.debug("closing the broker service of %s failed", account.pk, exc_info=True)
    return MarketFacts(instrument=instrument, position=position, reference_price=price, can_short=can_short(account))


def manual_command(ticket: CheckedTicket) -> Command:
    """A market close becomes the core's EXIT (reduce-only, capped again at the position when it runs)."""
    if ticket.close_only and ticket.order_type == "market":
        return Command(action=Action.EXIT, symbol=ticket.symbol, quantity=ticket.quantity)
    return Command(
        action=Action(ticket.side),
        symbol=ticket.symbol,
        quantity=ticket.quantity,
        order_type=OrderKind(ticket.order_type),
        limit_price=ticket.limit_price,
        reference_price=ticket.estimated_price,
    )


def place_manual_order(user, account: BrokerAccount, ticket: CheckedTicket, token: str) -> SignalRecord:
    """Submit the ticket through the execution core. `token` (issued with the confirmation sheet) makes a
    double tap or a resent request place the order once."""
    if not TOKEN_RE.match(token or ""):
        raise TicketInvalid({"__all__": "This confirmation expired; review the order again."})
    if account.owner_id != user.pk:
        raise TicketInvalid({"__all__": "You can only trade your own accounts."})
    if not account.enabled:
        raise TicketInvalid({"__all__": f"The account '{account.name}' is disabled."})
    signal = Signal(
        source=SignalSource.MANUAL,
        owner_id=user.pk,
        idempotency_key=f"manual:{user.pk}:{token}",
        commands=(manual_command(ticket),),
        routes=(AccountRoute(account_id=account.pk),),
        signal_time=timezone.now(),
    )
    return submit_signal(signal)


def estimated_value_text(ticket: CheckedTicket) -> str:
    if ticket.estimated_value is None:
        return "unknown (no recent price)"
    return f"≈ {ticket.estimated_value.quantize(Decimal('0.01')):,} {ticket.quote_currency}"
