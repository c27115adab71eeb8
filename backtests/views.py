from __future__ import annotations

from datetime import UTC, datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.services import PlanLimitExceeded
from backtests.marketdata import imports as market_imports
from backtests.marketdata import selectors as market
from backtests.marketdata.models import MarketSeries
from backtests.marketdata.services import BadBarsError
from strategies import services as strategy_services
from strategies.models import StrategyVersion

from . import exports, parity, selectors, services
from .forms import BacktestForm, NewStrategyForm, ParityUploadForm, UploadBarsForm
from .models import BacktestRun, ParameterSweep, RunStatus

EDITABLE_INPUT_KINDS = {"int", "float", "bool", "string", "price", "enum"}


def _run_or_404(request: HttpRequest, pk: int) -> BacktestRun:
    try:
        return selectors.run_for(request.user, pk)
    except BacktestRun.DoesNotExist as missing:
        raise Http404("No such backtest.") from missing


def _day(value, end: bool = False) -> datetime | None:
    if value is None:
        return None
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def _input_values(request: HttpRequest, version: StrategyVersion) -> dict:
    values = {}
    for spec in version.inputs:
        name = spec.get("name") or spec.get("title")
        key = f"input__{name}"
        if spec.get("kind") == "bool":
            if f"{key}__present" in request.POST:
                values[name] = key in request.POST
            continue
        if key in request.POST and request.POST[key] != "":
            values[name] = request.POST[key]
    return values


@login_required
def backtest_list(request: HttpRequest) -> HttpResponse:
    versions = selectors.versions_for(request.user)
    form = BacktestForm(request.POST or None, versions=versions, initial=_initial(request, versions))
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.start_backtest(
                request.user, data["version"], symbol=data["symbol"], timeframe=data["timeframe"],
                date_from=_day(data["date_from"]), date_to=_day(data["date_to"], end=True),
                inputs=_input_values(request, data["version"]), initial_capital=data["initial_capital"],
            )
        except (services.BacktestRequestError, PlanLimitExceeded) as error:
            errors.append(str(error))
        else:
            return redirect(run)
    selected = form["version"].value() if form.is_bound else form.initial.get("version")
    version = versions.filter(pk=selected).first() if selected else versions.first()
    context = {
        "form": form,
        "errors": errors,
        "runs": selectors.runs_for(request.user).filter(sweep__isnull=True)[:50],
        "sweeps": selectors.sweeps_for(request.user)[:20],
        "version": version,
        "input_fields": _input_fields(version, request.POST if form.is_bound else None),
        "strategy_form": NewStrategyForm(),
        "has_data": MarketSeries.objects.exists(),
        "stored_series": MarketSeries.objects.order_by("symbol", "timeframe").values_list("symbol", "timeframe"),
    }
    return render(request, "backtests/list.html", context, status=400 if (errors or form.errors) else 200)


def _initial(request: HttpRequest, versions) -> dict:
    initial = {"timeframe": "60"}
    if request.GET.get("version"):
        initial["version"] = request.GET["version"]
    first_series = MarketSeries.objects.order_by("symbol").first()
    if first_series:
        initial["symbol"] = request.GET.get("symbol", first_series.symbol)
        initial["timeframe"] = request.GET.get("timeframe", first_series.timeframe)
    return initial


def _input_fields(version: StrategyVersion | None, posted=None) -> list[dict]:
    if version is None:
        return []
    fields = []
    for spec in version.inputs:
        name = spec.get("name") or spec.get("title")
        if not name or spec.get("kind") not in EDITABLE_INPUT_KINDS:
            continue
        value = spec.get("defval")
        if posted is not None and f"input__{name}" in posted:
            value = posted.get(f"input__{name}")
        fields.append({"name": name, "spec": spec, "value": value, "key": f"input__{name}"})
    return fields


@login_required
def version_inputs(request: HttpRequest) -> HttpResponse:
    version = selectors.versions_for(request.user).filter(pk=request.GET.get("version") or 0).first()
    return render(request, "backtests/partials/inputs.html", {"input_fields": _input_fields(version), "version": version})


@login_required
@require_POST
def new_strategy(request: HttpRequest) -> HttpResponse:
    form = NewStrategyForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            with transaction.atomic():
                strategy = strategy_services.create_strategy(request.user, form.cleaned_data["name"])
                version = strategy_services.save_version(strategy, form.cleaned_data["source"])
        except strategy_services.StrategyCompileError as error:
            errors = list(error.diagnostics)
        except ValidationError as error:
            errors = [m for ms in error.message_dict.values() for m in ms] if hasattr(error, "message_dict") else error.messages
        else:
            messages.success(request, f"Saved {version}.")
            return redirect(f"{reverse('backtests:list')}?version={version.pk}")
    else:
        errors = [f"{field}: {', '.join(errs)}" for field, errs in form.errors.items()]
    return render(request, "backtests/new_strategy.html", {"strategy_form": form, "errors": errors}, status=400)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    return render(request, "backtests/run.html", {"run": run, **_results_context(run)})


def _results_context(run: BacktestRun) -> dict:
    if run.status != RunStatus.SUCCEEDED or not hasattr(run, "result"):
        return {"has_results": False}
    page, sort = selectors.trades_page(run)
    return {
        "has_results": True,
        "stats": selectors.stats_table(run, selectors.open_trade_counts(run)),
        "trades": page,
        "sort": sort,
        "summary": run.result.summary,
        "source_lines": None,
    }


@login_required
def run_status(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    return render(request, "backtests/partials/run_status.html", {"run": run})


@login_required
def run_results(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    return render(request, "backtests/partials/results.html", {"run": run, **_results_context(run)})


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = services.request_cancel(_run_or_404(request, pk))
    if request.htmx:
        return render(request, "backtests/partials/run_status.html", {"run": run})
    return redirect(run)


@login_required
@require_POST
def run_again(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        run = services.rerun(request.user, _run_or_404(request, pk))
    except (services.BacktestRequestError, PlanLimitExceeded) as error:
        messages.error(request, str(error))
        return redirect("backtests:run", pk=pk)
    return redirect(run)


@login_required
def run_trades(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    page, sort = selectors.trades_page(run, request.GET.get("sort", "number"), request.GET.get("page", 1))
    return render(request, "backtests/partials/trades.html", {"run": run, "trades": page, "sort": sort})


@login_required
def run_chart_data(request: HttpRequest, pk: int) -> JsonResponse:
    run = _run_or_404(request, pk)
    if run.status != RunStatus.SUCCEEDED:
        return JsonResponse({"error": "This backtest has no results."}, status=404)
    return JsonResponse(selectors.chart_payload(run))


@login_required
def run_export(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    run = _run_or_404(request, pk)
    if run.status != RunStatus.SUCCEEDED:
        raise Http404("This backtest has no results.")
    makers = {"trades": exports.trades_plain_csv, "trades-tradingview": exports.trades_tradingview_csv, "stats": exports.stats_csv}
    if kind not in makers:
        raise Http404("Unknown export.")
    response = HttpResponse(makers[kind](run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="backtest-{run.pk}-{kind}.csv"'
    return response


@login_required
def run_parity(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    if run.status != RunStatus.SUCCEEDED:
        raise Http404("This backtest has no results.")
    form = ParityUploadForm(request.POST or None, request.FILES or None)
    report, error = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            reference = parity.read_tradingview_trades(form.cleaned_data["file"].read())
        except parity.ParityFileError as problem:
            error = str(problem)
        else:
            ours = parity.run_trades_as_reference(selectors.trade_rows(run))
            report = parity.compare_trades(reference, ours, float(run.stored_series.mintick) if run.stored_series else 0.01)
    status = 400 if error or form.errors else 200
    return render(request, "backtests/parity.html", {"run": run, "form": form, "report": report, "error": error}, status=status)


# ---------------------------------------------------------------- sweeps


@login_required
def sweep_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Set up a parameter sweep from an existing run (its symbol, timeframe, dates and other inputs)."""
    run = _run_or_404(request, pk)
    version = run.strategy_version
    numeric = [s for s in version.inputs if s.get("kind") in ("int", "float", "bool") or s.get("options")]
    rows = []
    for spec in numeric:
        name = spec.get("name") or spec.get("title")
        default = run.inputs.get(name, spec.get("defval"))
        step = spec.get("step") or (1 if spec.get("kind") == "int" else 0.5)
        start = spec.get("minval") if spec.get("minval") is not None else default
        stop = spec.get("maxval") if spec.get("maxval") is not None else (default * 2 if isinstance(default, (int, float)) and default else default)
        if isinstance(start, (int, float)) and isinstance(stop, (int, float)) and step and (stop - start) / step > 20:
            stop = start + step * 9
        rows.append({"name": name, "spec": spec, "start": start, "stop": stop, "step": step,
                     "checked": request.POST.get(f"sweep__{name}") == "on"})
    errors = []
    if request.method == "POST":
        parameters = []
        try:
            for row in rows:
                if request.POST.get(f"sweep__{row['name']}") != "on":
                    continue
                values = services.sweep_values(
                    row["spec"], request.POST.get(f"from__{row['name']}"), request.POST.get(f"to__{row['name']}"),
                    request.POST.get(f"step__{row['name']}"),
                )
                parameters.append({"name": row["name"], "values": values, "title": row["spec"].get("title") or row["name"]})
            sweep = services.start_sweep(
                request.user, version, symbol=run.symbol, timeframe=run.timeframe, parameters=parameters,
                date_from=run.date_from, date_to=run.date_to,
                base_inputs={k: v for k, v in run.inputs.items() if k not in {p["name"] for p in parameters}},
                initial_capital=run.initial_capital, metric=request.POST.get("metric", "net_profit"),
            )
        except (services.BacktestRequestError, PlanLimitExceeded) as error:
            errors.append(str(error))
        else:
            return redirect(sweep)
    return render(request, "backtests/sweep_new.html", {"run": run, "rows": rows, "errors": errors,
                                                        "metrics": selectors.SWEEP_METRICS}, status=400 if errors else 200)


def _sweep_or_404(request: HttpRequest, pk: int) -> ParameterSweep:
    try:
        return selectors.sweeps_for(request.user).get(pk=pk)
    except ParameterSweep.DoesNotExist as missing:
        raise Http404("No such sweep.") from missing


def _sweep_context(request: HttpRequest, sweep: ParameterSweep) -> dict:
    sort = request.GET.get("sort", f"-{sweep.metric}")
    metric = request.GET.get("metric", sweep.metric)
    if metric not in selectors.SWEEP_METRICS:
        metric = "net_profit"
    cells = selectors.sweep_cells(sweep, sort)
    done = sum(1 for c in cells if c["run"].status not in ("queued", "running"))
    return {
        "sweep": sweep, "cells": cells, "sort": sort, "metric": metric, "metrics": selectors.SWEEP_METRICS,
        "heatmap": selectors.sweep_heatmap(sweep, metric, cells), "done": done, "total": len(cells),
        "active": done < len(cells),
    }


@login_required
def sweep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = _sweep_or_404(request, pk)
    template = "backtests/partials/sweep_results.html" if request.htmx else "backtests/sweep.html"
    return render(request, template, _sweep_context(request, sweep))


# ---------------------------------------------------------------- market data


@login_required
def data_coverage(request: HttpRequest) -> HttpResponse:
    form = UploadBarsForm(request.POST or None, request.FILES or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = market_imports.import_csv(
                data["file"], symbol=data["symbol"], timeframe=data["timeframe"], timezone=data["timezone"],
                mintick=data["mintick"], source=f"upload:{data['file'].name}"[:64],
            )
        except (BadBarsError, market_imports.ImportRejected) as problem:
            error = f"{data['file'].name}: {problem}. Nothing was imported."
        else:
            messages.success(request, f"Imported {result.rows:,} bars into {result.series}.")
            return redirect("backtests:data")
    return render(request, "backtests/data.html", {"coverage": market.coverage(), "form": form, "error": error},
                  status=400 if (error or form.errors) else 200)


@login_required
def series_gaps(request: HttpRequest, pk: int) -> HttpResponse:
    series = MarketSeries.objects.filter(pk=pk).first()
    if series is None:
        raise Http404("No such series.")
    gaps, total = market.detect_gaps(series, limit=100)
    return render(request, "backtests/partials/gaps.html", {"series": series, "gaps": gaps, "total": total})
