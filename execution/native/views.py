import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.services import PlanLimitExceeded
from execution.signals import AccountRoute, Filters, SizingMode, SizingRule

from . import selectors, services
from .forms import DeploymentForm
from .models import Deployment


def _deployment_or_404(request: HttpRequest, pk: int) -> Deployment:
    try:
        return selectors.deployment_for(request.user, pk)
    except Deployment.DoesNotExist as missing:
        raise Http404("No such deployment.") from missing


@login_required
def deployment_list(request: HttpRequest) -> HttpResponse:
    deployments = list(selectors.deployments_for(request.user))
    template = "native/partials/deployment_list.html" if request.htmx else "native/list.html"
    return render(request, template, {"deployments": deployments})


def _initial_inputs(raw: str | None) -> str:
    """The editor's input overrides (``?inputs=<JSON object>``) as the form's initial JSON; blank if unusable."""
    try:
        value = json.loads(raw or "")
    except ValueError:
        return ""
    return json.dumps(value, indent=1) if isinstance(value, dict) and value else ""


@login_required
def deployment_create(request: HttpRequest) -> HttpResponse:
    form = DeploymentForm(request.POST or None, user=request.user,
                          initial={"strategy_version": request.GET.get("version"), "series": request.GET.get("series"),
                                   "inputs": _initial_inputs(request.GET.get("inputs"))})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = Filters(max_position=None)
        routes = tuple(
            AccountRoute(account_id=account.pk, sizing=SizingRule(mode=SizingMode(data["sizing_mode"]),
                                                                  value=data["sizing_value"]), filters=filters)
            for account in data["accounts"])
        spec = services.DeploymentSpec(
            name=data["name"], strategy_version_id=data["strategy_version"].pk, series_id=data["series"].pk,
            routes=routes, mode=data["mode"], inputs=data["inputs"], stale_policy=data["stale_policy"],
            max_orders_per_day=data["max_orders_per_day"], max_position=data["max_position"],
            confirm_live=data["confirm_live"])
        try:
            deployment = services.create_deployment(request.user, spec)
        except (services.DeploymentError, PlanLimitExceeded) as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Deployment '{deployment.name}' created; it starts after its warm-up.")
            return redirect(deployment.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    version_id = request.POST.get("strategy_version") or request.GET.get("version")
    latest_backtest = selectors.latest_backtest(request.user, version_id) if version_id else None
    return render(request, "native/form.html", {"form": form, "latest_backtest": latest_backtest}, status=status)


@login_required
def deployment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _deployment_or_404(request, pk)
    context = {
        "d": deployment,
        "signals": selectors.recent_signals(deployment),
        "orders": selectors.recent_orders(deployment),
        "events": selectors.recent_events(deployment),
    }
    return render(request, "native/detail.html", context)


@login_required
def deployment_log(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _deployment_or_404(request, pk)
    return render(request, "native/partials/event_list.html",
                  {"events": selectors.recent_events(deployment, limit=500), "d": deployment})


def _control(request: HttpRequest, pk: int, action) -> HttpResponse:
    deployment = _deployment_or_404(request, pk)
    try:
        action(deployment)
    except services.DeploymentError as error:
        messages.error(request, str(error))
    return redirect(deployment.get_absolute_url())


@login_required
@require_POST
def deployment_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, lambda d: services.pause_deployment(d, request.user))


@login_required
@require_POST
def deployment_resume(request: HttpRequest, pk: int) -> HttpResponse:
    adopt = request.POST.get("adopt_positions") == "1"
    return _control(request, pk, lambda d: services.resume_deployment(d, request.user, adopt_positions=adopt))


@login_required
@require_POST
def deployment_stop(request: HttpRequest, pk: int) -> HttpResponse:
    flatten = request.POST.get("flatten") == "1"
    return _control(request, pk, lambda d: services.stop_deployment(d, request.user, flatten=flatten))
