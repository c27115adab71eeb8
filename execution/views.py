import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Membership

from . import selectors, services
from .models import SignalRecord


def _can_trade(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is None or membership.role != Membership.Role.VIEWER


@login_required
def deployments(request: HttpRequest) -> HttpResponse:
    """Signals waiting for approval, and the per-account (per-client) execution report."""
    context = {
        "pending": selectors.signals_awaiting_approval(request.user)[:100],
        "report": selectors.client_report(request.user),
        "can_trade": _can_trade(request),
    }
    return render(request, "execution/deployments.html", context)


@login_required
def orders(request: HttpRequest) -> HttpResponse:
    rows = selectors.orders_for(request.user).select_related("execution__signal")[:200]
    return render(request, "execution/orders.html", {"orders": rows})


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.orders_for(request.user).filter(pk=pk).first()
    if order is None:
        raise Http404("No such order.")
    return render(request, "execution/order_detail.html",
                  {"order": order, "events": order.events.all(), "fills": order.fills.all()})


def _decide(request: HttpRequest, pk: int, approve: bool) -> HttpResponse:
    if not _can_trade(request):
        raise Http404("Viewers cannot approve signals.")
    try:
        record = selectors.signal_for(request.user, pk)
    except SignalRecord.DoesNotExist as missing:
        raise Http404("No such signal.") from missing
    if approve:
        record = services.approve_signal(record, request.user)
    else:
        record = services.decline_signal(record, request.user, request.POST.get("reason", "") or "declined")
    messages.success(request, f"Signal #{record.pk}: {record.get_status_display()}"
                     + (f" ({record.status_reason})" if record.status_reason else ""))
    return redirect("execution:deployments")


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, True)


@login_required
@require_POST
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, False)


class _Echo:
    def write(self, value):
        return value


@login_required
def orders_csv(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    fields = ["id", "created_at", "broker_account_id", "client_order_id", "broker_order_id", "symbol", "side",
              "order_type", "quantity", "limit_price", "stop_price", "state", "filled_quantity", "average_price",
              "last_error"]

    def rows():
        yield writer.writerow([*fields, "signal_source", "alert_id"])
        for order in selectors.orders_for(request.user).select_related("execution__signal").order_by("id").iterator(chunk_size=500):
            signal = order.execution.signal if order.execution_id else None
            yield writer.writerow([getattr(order, f) for f in fields]
                                  + [signal.source if signal else "", signal.alert_id if signal else ""])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="4pass-orders.csv"'
    return response


@login_required
def report_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="4pass-client-report.csv"'
    writer = csv.writer(response)
    writer.writerow(["account_id", "signals", "orders", "filled_orders", "fills", "volume", "fees", "realized_pnl",
                     "net_pnl", "open_positions"])
    for row in selectors.client_report(request.user):
        writer.writerow([row["account_id"], row["signals"], row["orders"], row["filled_orders"], row["fills"],
                         row["volume"], row["fees"], row["realized_pnl"], row["net_pnl"],
                         "; ".join(f"{k} {v}" for k, v in row["open_positions"].items())])
    return response
