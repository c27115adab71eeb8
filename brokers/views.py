from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from brokers.core.errors import BrokerError

from . import selectors, services
from .credentials import CredentialsError
from .forms import BrokerAccountForm
from .models import BrokerAccount


def _account_or_404(request: HttpRequest, pk: int) -> BrokerAccount:
    try:
        return selectors.broker_account_for(request.user, pk)
    except BrokerAccount.DoesNotExist as missing:
        raise Http404("No such broker account.") from missing


def _form_errors(form: BrokerAccountForm, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        form.add_error(None if field == "__all__" or field not in form.fields else field, messages_)


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    services.ensure_default_paper_account(request.user)
    context = {"accounts": selectors.broker_accounts_for(request.user)}
    template = "brokers/partials/account_table.html" if request.htmx else "brokers/list.html"
    return render(request, template, context)


@login_required
def account_create(request: HttpRequest) -> HttpResponse:
    form = BrokerAccountForm(request.POST or None, initial={"kind": BrokerAccount.Kind.PAPER})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.create_broker_account(
                request.user,
                name=data["name"],
                kind=data["kind"],
                exchange=data.get("exchange") or "",
                market_type=data["market_type"],
                is_live=data["is_live"],
                credentials=form.credentials(),
                queue_outside_hours=data["queue_outside_hours"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Broker account '{account.name}' added.")
            return redirect("brokers:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "brokers/form.html", {"form": form, "account": None}, status=status)


@login_required
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(request, pk)
    initial = {
        "name": account.name,
        "kind": account.kind,
        "exchange": account.exchange,
        "market_type": account.market_type,
        "is_live": account.is_live,
        "queue_outside_hours": account.queue_outside_hours,
    }
    form = BrokerAccountForm(request.POST or None, initial=initial, editing=account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_broker_account(
                account,
                name=data["name"],
                credentials=form.credentials(),
                queue_outside_hours=data["queue_outside_hours"],
                is_live=data["is_live"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Broker account '{account.name}' saved.")
            return redirect("brokers:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "brokers/form.html", {"form": form, "account": account}, status=status)


@login_required
@require_POST
def account_test(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(request, pk)
    context = {"account": account, "balances": [], "error": ""}
    try:
        context["balances"] = services.test_broker_account(account)
    except (BrokerError, CredentialsError, ValidationError) as error:
        context["error"] = str(error)
    return render(request, "brokers/partials/test_result.html", context, status=200)


@login_required
@require_POST
def account_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(request, pk)
    services.set_enabled(account, not account.enabled)
    if request.htmx:
        return render(request, "brokers/partials/account_row.html", {"account": account})
    return redirect("brokers:list")
