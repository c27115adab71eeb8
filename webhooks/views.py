import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.services import PlanLimitExceeded
from execution import brokerage

from . import selectors, services
from .forms import AccountLinkForm, BindingForm
from .models import Alert, WebhookBinding


def _can_edit(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is None or membership.role != Membership.Role.VIEWER


def _binding_or_404(request: HttpRequest, pk: int) -> WebhookBinding:
    try:
        return selectors.binding_for(request.user, pk)
    except WebhookBinding.DoesNotExist as missing:
        raise Http404("No such webhook.") from missing


def _hook_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(f"/hook/{token}")


@login_required
def binding_list(request: HttpRequest) -> HttpResponse:
    bindings = selectors.bindings_for(request.user).prefetch_related("accounts")
    return render(request, "webhooks/list.html", {"bindings": bindings, "can_edit": _can_edit(request)})


def _link_forms(request: HttpRequest, binding: WebhookBinding | None):
    accounts = brokerage.accounts_owned_by(binding.owner_id if binding else request.user.pk)
    existing = {link.broker_account_id: link for link in binding.accounts.all()} if binding else {}
    data = request.POST if request.method == "POST" else None
    return [
        (account, AccountLinkForm(data, prefix=f"acc-{account.id}", initial=AccountLinkForm.initial_for(existing.get(account.id))))
        for account in accounts
    ]


def _links_from(forms) -> list[services.AccountLink]:
    links = []
    for account, form in forms:
        if form.cleaned_data["linked"]:
            values = {k: v for k, v in form.cleaned_data.items() if k != "linked"}
            links.append(services.AccountLink(broker_account_id=account.id, **values))
    return links


@login_required
def binding_create(request: HttpRequest) -> HttpResponse:
    if not _can_edit(request):
        raise Http404("Viewers cannot create webhooks.")
    form = BindingForm(request.POST or None, initial={"name": "TradingView alerts", "enabled": True,
                                                     "tradingview_ips": True, "drift_policy": "warn",
                                                     "allocation": "per_account"})
    link_forms = _link_forms(request, None)
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for _a, f in link_forms):
        try:
            binding, token = services.create_binding(
                request.user, form.cleaned_data["name"], passphrase=form.cleaned_data["passphrase"],
                ip_allowlist=form.allowlist(), accounts=_links_from(link_forms), **form.options(),
            )
        except (ValidationError, PlanLimitExceeded) as error:
            form.add_error(None, error.messages if isinstance(error, ValidationError) else str(error))
        else:
            return _show_token(request, binding, token, form.cleaned_data["passphrase"], created=True)
    return render(request, "webhooks/edit.html", {"form": form, "link_forms": link_forms, "binding": None},
                  status=400 if request.method == "POST" else 200)


def _show_token(request, binding, token, passphrase, *, created: bool) -> HttpResponse:
    context = {"binding": binding, "url": _hook_url(request, token), "created": created,
               "templates": selectors.alert_message_templates(binding, passphrase)}
    response = render(request, "webhooks/token.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def binding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    binding = _binding_or_404(request, pk)
    form = BindingForm(request.POST or None, initial=BindingForm.initial_for(binding))
    link_forms = _link_forms(request, binding)
    if request.method == "POST":
        if not _can_edit(request):
            raise Http404("Viewers cannot change webhooks.")
        if form.is_valid() and all(f.is_valid() for _a, f in link_forms):
            passphrase = "" if form.cleaned_data["clear_passphrase"] else (form.cleaned_data["passphrase"] or None)
            try:
                services.update_binding(binding, name=form.cleaned_data["name"], passphrase=passphrase,
                                        ip_allowlist=form.allowlist(), **form.options())
                services.set_binding_accounts(binding, _links_from(link_forms))
            except (ValidationError, PlanLimitExceeded) as error:
                form.add_error(None, error.messages if isinstance(error, ValidationError) else str(error))
            else:
                messages.success(request, "Webhook saved.")
                return redirect("webhooks:detail", pk=binding.pk)
    context = {
        "binding": binding, "form": form, "link_forms": link_forms, "can_edit": _can_edit(request),
        "templates": selectors.alert_message_templates(binding),
        "drift": sorted((binding.last_drift or {}).items()),
        "recent_alerts": selectors.alerts_for(request.user, binding_id=binding.pk)[:10],
    }
    return render(request, "webhooks/edit.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def binding_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    binding = _binding_or_404(request, pk)
    if not _can_edit(request):
        raise Http404("Viewers cannot rotate tokens.")
    token = services.rotate_token(binding)
    return _show_token(request, binding, token, "", created=False)


@login_required
@require_POST
def binding_delete(request: HttpRequest, pk: int) -> HttpResponse:
    binding = _binding_or_404(request, pk)
    if not _can_edit(request):
        raise Http404("Viewers cannot delete webhooks.")
    services.delete_binding(binding)
    messages.success(request, f"Webhook '{binding.name}' deleted; its URL no longer works.")
    return redirect("webhooks:list")


@login_required
def alert_log(request: HttpRequest) -> HttpResponse:
    binding_id = request.GET.get("binding")
    status = request.GET.get("status") or None
    alerts = selectors.alerts_for(request.user, binding_id=int(binding_id) if binding_id and binding_id.isdigit() else None,
                                  status=status)[:200]
    context = {"alerts": alerts, "bindings": selectors.bindings_for(request.user), "statuses": Alert.Status.choices,
               "selected_binding": binding_id, "selected_status": status}
    template = "webhooks/partials/alert_rows.html" if request.htmx else "webhooks/alerts.html"
    return render(request, template, context)


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alerts_for(request.user).filter(pk=pk).first()
    if alert is None:
        raise Http404("No such alert.")
    return render(request, "webhooks/alert_detail.html", {"alert": alert, "audit": selectors.audit_for_alert(alert)})


class _Echo:
    def write(self, value):
        return value


@login_required
def alerts_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every alert with its full audit trail, one row per audit step."""
    alerts = selectors.alerts_for(request.user).order_by("received_at", "id")
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(["alert_id", "binding", "received_at", "alert_status", "http_status", "reason",
                               "step_at", "stage", "account_id", "order_client_id", "message"])
        for alert in alerts.iterator(chunk_size=500):
            steps = list(selectors.audit_for_alert(alert))
            base = [alert.pk, alert.binding.name, alert.received_at.isoformat(), alert.status, alert.http_status,
                    alert.reason]
            if not steps:
                yield writer.writerow([*base, "", "", "", "", ""])
            for step in steps:
                yield writer.writerow([*base, step.at.isoformat(), step.stage, step.broker_account_id or "",
                                       step.order.client_order_id if step.order else "", step.message])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="4pass-alerts.csv"'
    return response
