"""The trade screen: manual order ticket and the Positions / Orders / Alerts / Deployments tabs.

Full pages are server-rendered at /trade/<tab>/; htmx requests aimed at the tab panel get only the panel.
"""

from __future__ import annotations

import json
import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership

from . import selectors, services
from .ticket import TicketInput, TicketInvalid, check_ticket, fmt

TAB_LABELS = {"positions": "Positions", "orders": "Orders", "alerts": "Alerts", "deployments": "Deployments"}


def _can_trade(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is None or membership.role != Membership.Role.VIEWER


def _tab_context(request: HttpRequest, tab: str, account) -> dict:
    context: dict = {"tab": tab, "account": account}
    if tab == "positions":
        context["positions"] = selectors.positions(account)
    elif tab == "orders":
        context["orders"] = selectors.recent_orders(request.user)
    elif tab == "alerts":
        context["alerts"] = selectors.recent_alerts(request.user)
    elif tab == "deployments":
        context["deployments"] = selectors.native_deployments(request.user)
        context["approvals"] = selectors.approvals(request.user)
    return context


def _tabs(account) -> list[dict]:
    query = f"?account={account.pk}" if account else ""
    return [{"name": name, "label": label, "url": reverse(f"trading:{name}") + query} for name, label in TAB_LABELS.items()]


@login_required
def trade(request: HttpRequest, tab: str = "positions") -> HttpResponse:
    if tab not in TAB_LABELS:
        raise Http404("No such tab.")
    account = selectors.selected_account(request.user, request.GET.get("account"))
    context = _tab_context(request, tab, account)
    if request.htmx and request.htmx.target == "tab-panel":
        return render(request, f"trading/partials/tab_{tab}.html", context)
    context.update(
        tabs=_tabs(account),
        accounts=selectors.trade_accounts(request.user),
        can_trade=_can_trade(request),
        symbols=selectors.search_symbols(request.user, "", account, limit=8),
    )
    return render(request, "trading/trade.html", context)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    return redirect(reverse("trading:positions") + query)


@login_required
@require_GET
def symbols(request: HttpRequest) -> HttpResponse:
    account = selectors.selected_account(request.user, request.GET.get("account"))
    found = selectors.search_symbols(request.user, request.GET.get("symbol", ""), account)
    return render(request, "trading/partials/symbol_results.html", {"symbols": found})


@login_required
@require_GET
def instrument(request: HttpRequest) -> HttpResponse:
    """Lot size, tick, last price and position of the chosen symbol; the ticket's steppers read them."""
    account = selectors.selected_account(request.user, request.GET.get("account"))
    symbol = request.GET.get("symbol", "").strip().upper()
    context: dict = {"symbol": symbol}
    if account is None:
        context["error"] = "Add a broker account first."
    elif symbol:
        try:
            facts = services.market_facts(account, symbol)
        except services.TradingUnavailable as error:
            context["error"] = str(error)
        else:
            rules = facts.instrument
            context.update(
                facts=facts,
                qty_step=fmt(rules.qty_step),
                min_qty=fmt(max(rules.min_qty, rules.qty_step)),
                tick=fmt(rules.tick_size),
                tick_bands=json.dumps([[None if upper is None else fmt(upper), fmt(t)] for upper, t in rules.tick_bands]),
                price=fmt(facts.reference_price) if facts.reference_price is not None else "",
                position=fmt(facts.position),
            )
    return render(request, "trading/partials/instrument.html", context)


def _ticket_input(request: HttpRequest) -> TicketInput:
    post = request.POST
    return TicketInput(
        symbol=post.get("symbol", "").strip().upper(),
        side=post.get("side", ""),
        quantity=post.get("quantity", ""),
        order_type=post.get("order_type", "market"),
        limit_price=post.get("limit_price", ""),
        close_only=post.get("close_only") in ("on", "true", "1"),
    )


def _errors(request: HttpRequest, errors: dict[str, str], status: int = 200) -> HttpResponse:
    response = render(request, "trading/partials/ticket_errors.html", {"errors": errors}, status=status)
    response["HX-Retarget"] = "#ticket-feedback"
    response["HX-Reswap"] = "innerHTML"
    return response


def _checked(request: HttpRequest):
    if not _can_trade(request):
        raise TicketInvalid({"__all__": "Viewers cannot place orders."})
    account = selectors.selected_account(request.user, request.POST.get("account"))
    if account is None:
        raise TicketInvalid({"__all__": "Add a broker account first (a paper account is free)."})
    raw = _ticket_input(request)
    if not raw.symbol:
        raise TicketInvalid({"symbol": "Choose a symbol."})
    try:
        facts = services.market_facts(account, raw.symbol)
    except services.TradingUnavailable as error:
        raise TicketInvalid({"symbol": str(error)}) from error
    return account, check_ticket(raw, facts), facts


@login_required
@require_POST
def review(request: HttpRequest) -> HttpResponse:
    """The confirmation sheet: the exact order (after rounding) and its estimated value."""
    try:
        account, ticket, facts = _checked(request)
    except TicketInvalid as invalid:
        return _errors(request, invalid.errors)
    context = {
        "account": account, "ticket": ticket, "facts": facts, "token": uuid.uuid4().hex,
        "value": services.estimated_value_text(ticket),
    }
    return render(request, "trading/partials/confirm_sheet.html", context)


@login_required
@require_POST
def place(request: HttpRequest) -> HttpResponse:
    try:
        account, ticket, _facts = _checked(request)
        record = services.place_manual_order(request.user, account, ticket, request.POST.get("token", ""))
    except TicketInvalid as invalid:
        return _errors(request, invalid.errors)
    outcome = selectors.manual_order_outcome(request.user, record.pk)
    return render(request, "trading/partials/outcome.html", {"outcome": outcome, "signal_id": record.pk, "polls": 0})


@login_required
@require_GET
def outcome(request: HttpRequest, signal_id: int) -> HttpResponse:
    found = selectors.manual_order_outcome(request.user, signal_id)
    if found is None:
        raise Http404("No such order.")
    try:
        polls = int(request.GET.get("polls", "0")) + 1
    except ValueError:
        polls = 1
    return render(request, "trading/partials/outcome.html", {"outcome": found, "signal_id": signal_id, "polls": polls})
