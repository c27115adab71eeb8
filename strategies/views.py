import json
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from . import selectors, services
from .builder import BuilderStateError, catalogue, generate_pine
from .examples import TEMPLATES
from .models import Strategy, StrategyVersion

MAX_SOURCE_CHARS = 200_000


def _strategy_or_404(request: HttpRequest, pk: int) -> Strategy:
    try:
        return selectors.strategy_for(request.user, pk)
    except Strategy.DoesNotExist as missing:
        raise Http404("No such strategy.") from missing


def _version_or_404(strategy: Strategy, number: int) -> StrategyVersion:
    try:
        return selectors.version_of(strategy, number)
    except StrategyVersion.DoesNotExist as missing:
        raise Http404("No such version.") from missing


def _url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [m for ms in error.message_dict.values() for m in ms]
    return list(error.messages)


@login_required
def strategy_list(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        template = request.POST.get("template", "blank")
        try:
            strategy = services.create_strategy_from_template(request.user, request.POST.get("name", ""), template)
        except ValidationError as error:
            errors = _messages_of(error)
        else:
            messages.success(request, f"Strategy '{strategy.name}' created.")
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = strategy.get_absolute_url()
                return response
            return redirect(strategy)
    context = {"strategies": selectors.strategies_for(request.user), "errors": errors, "templates": TEMPLATES.values(),
               "chosen": request.POST.get("template", request.GET.get("template", "blank")),
               "name": request.POST.get("name", "")}
    if request.htmx:
        # htmx does not swap 4xx responses; the partial carries the errors itself
        return render(request, "strategies/partials/list.html", context)
    return render(request, "strategies/list.html", context, status=400 if errors else 200)


def _series_choices() -> list[dict]:
    from backtests.marketdata.models import MarketSeries

    return [{"id": s.pk, "symbol": s.symbol, "timeframe": s.timeframe}
            for s in MarketSeries.objects.order_by("symbol", "timeframe")]


def _deploy_context(request: HttpRequest, version: StrategyVersion | None) -> dict:
    context = {"deploy_url": _url_or_none("native:create"), "webhook_create_url": _url_or_none("webhooks:create"),
               "alert_messages": None, "binding": None}
    try:
        from webhooks import selectors as webhook_selectors
    except ImportError:
        return context
    binding = webhook_selectors.bindings_for(request.user).first()
    if binding is not None:
        context["binding"] = binding
        context["alert_messages"] = webhook_selectors.alert_message_templates(binding)
    return context


def _editor_context(request: HttpRequest, strategy: Strategy, *, source: str | None = None,
                    diagnostics: list[dict] | None = None) -> dict:
    latest = selectors.latest_version(strategy)
    if source is None:
        source = latest.source if latest else services.BLANK_SOURCE.replace("{title}", strategy.name.replace('"', "'"))
    preview = services.compile_preview(source, filename=f"{strategy.name}.pine")
    if diagnostics is not None:
        preview["diagnostics"] = diagnostics
    return {
        "strategy": strategy,
        "latest": latest,
        "versions": strategy.versions.all()[:20],
        "source": source,
        "preview": preview,
        "series": _series_choices(),
        "backtest_url": _url_or_none("backtests:list"),
        **_deploy_context(request, latest),
    }


@login_required
def strategy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The strategy's editor: code (CodeMirror) or the visual builder, whichever its latest version uses."""
    strategy = _strategy_or_404(request, pk)
    if selectors.is_builder_strategy(strategy):
        return _builder_page(request, strategy)
    return render(request, "strategies/editor.html", _editor_context(request, strategy))


@login_required
@require_POST
def compile_view(request: HttpRequest, pk: int) -> JsonResponse:
    """Live diagnostics while typing: the editor posts the source, gets diagnostics, inputs and plots."""
    strategy = _strategy_or_404(request, pk)
    source = request.POST.get("source", "")
    if len(source) > MAX_SOURCE_CHARS:
        return JsonResponse({"ok": False, "diagnostics": [_too_long()], "inputs": [], "plots": []}, status=413)
    return JsonResponse(services.compile_preview(source, filename=f"{strategy.name}.pine"))


def _too_long() -> dict:
    return {"severity": "error", "line": 1, "col": 1, "end_line": 1, "end_col": 2, "code": "too_long",
            "message": f"The script is longer than {MAX_SOURCE_CHARS:,} characters."}


@login_required
@require_POST
def save_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the editor's source as a new version; a source with errors is refused and shown again."""
    strategy = _strategy_or_404(request, pk)
    source = request.POST.get("source", "")
    if len(source) > MAX_SOURCE_CHARS:
        context = _editor_context(request, strategy, source=source[:MAX_SOURCE_CHARS], diagnostics=[_too_long()])
        return render(request, "strategies/editor.html", context, status=400)
    latest = selectors.latest_version(strategy)
    if latest is not None and latest.source == source:
        messages.info(request, f"No changes since v{latest.number}; nothing saved.")
        return redirect(strategy)
    try:
        version = services.save_version(strategy, source)
    except services.StrategyCompileError as error:
        context = _editor_context(request, strategy, source=source, diagnostics=error.details)
        context["save_errors"] = error.diagnostics
        return render(request, "strategies/editor.html", context, status=400)
    messages.success(request, f"Saved v{version.number}.")
    return redirect(strategy)


@login_required
def completions(request: HttpRequest) -> JsonResponse:
    """The editor's autocompletion list (the compiler's built-ins); the same for everyone, cached a day."""
    response = JsonResponse({"completions": selectors.pine_completions()})
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
def version_list(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = _strategy_or_404(request, pk)
    return render(request, "strategies/versions.html", {"strategy": strategy, "versions": strategy.versions.all()})


@login_required
def version_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    strategy = _strategy_or_404(request, pk)
    version = _version_or_404(strategy, number)
    return render(request, "strategies/version.html", {"strategy": strategy, "version": version,
                                                        "builder_json": version.builder_state})


@login_required
@require_POST
def version_restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    strategy = _strategy_or_404(request, pk)
    old = _version_or_404(strategy, number)
    version = services.restore_version(old)
    messages.success(request, f"Restored v{old.number} as v{version.number}.")
    return redirect(strategy)


@login_required
def version_diff(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = _strategy_or_404(request, pk)
    try:
        old_number, new_number = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        messages.error(request, "Pick two versions to compare.")
        return redirect("strategies:versions", pk=strategy.pk)
    if old_number > new_number:
        old_number, new_number = new_number, old_number
    old, new = _version_or_404(strategy, old_number), _version_or_404(strategy, new_number)
    lines = selectors.version_diff(old, new)
    context = {"strategy": strategy, "old": old, "new": new, "lines": lines,
               "added": sum(1 for line in lines if line.kind == "added"),
               "removed": sum(1 for line in lines if line.kind == "removed")}
    return render(request, "strategies/diff.html", context)


# ── Visual builder ──


def _builder_page(request: HttpRequest, strategy: Strategy, state: dict | None = None,
                  errors: list[str] | None = None, status: int = 200) -> HttpResponse:
    latest = selectors.latest_version(strategy)
    state = state if state is not None else latest.builder_state
    try:
        source = generate_pine(state)
    except BuilderStateError as error:
        source, errors = "", errors or error.errors
    context = {
        "strategy": strategy, "latest": latest, "versions": strategy.versions.all()[:20], "state": state,
        "source": source, "errors": errors or [], "catalogue": catalogue(), "series": _series_choices(),
        "preview": services.compile_preview(source) if source else {"inputs": [], "plots": [], "diagnostics": []},
        "backtest_url": _url_or_none("backtests:list"), **_deploy_context(request, latest),
    }
    return render(request, "strategies/builder.html", context, status=status)


def _posted_state(request: HttpRequest) -> dict | None:
    raw = request.POST.get("state") if request.POST else request.body.decode("utf-8", "replace")
    try:
        return json.loads(raw or "")
    except ValueError:
        return None


@login_required
@require_POST
def builder_preview(request: HttpRequest, pk: int) -> JsonResponse:
    """The builder's live code pane: blocks in, generated Pine (or the validation errors) out."""
    _strategy_or_404(request, pk)
    state = _posted_state(request)
    if state is None:
        return JsonResponse({"ok": False, "errors": ["The blocks could not be read (invalid JSON)."]}, status=400)
    try:
        source = generate_pine(state)
    except BuilderStateError as error:
        return JsonResponse({"ok": False, "errors": error.errors})
    compiled = services.compile_preview(source)
    return JsonResponse({"ok": compiled["ok"], "errors": [], "source": source, **compiled})


@login_required
@require_POST
def builder_save(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = _strategy_or_404(request, pk)
    if not selectors.is_builder_strategy(strategy):
        messages.error(request, "This strategy is edited as code; the builder cannot overwrite it.")
        return redirect(strategy)
    state = _posted_state(request)
    if state is None:
        return _builder_page(request, strategy, errors=["The blocks could not be read (invalid JSON)."], status=400)
    latest = selectors.latest_version(strategy)
    if latest.builder_state == state:
        messages.info(request, f"No changes since v{latest.number}; nothing saved.")
        return redirect(strategy)
    try:
        version = services.save_builder_version(strategy, state)
    except BuilderStateError as error:
        return _builder_page(request, strategy, state=state, errors=error.errors, status=400)
    except services.StrategyCompileError as error:
        return _builder_page(request, strategy, state=state, errors=error.diagnostics, status=400)
    messages.success(request, f"Saved v{version.number}.")
    return redirect(strategy)


@login_required
@require_POST
def convert_to_code(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = _strategy_or_404(request, pk)
    try:
        version = services.convert_to_code(strategy)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Converted to code as v{version.number}; the builder blocks are no longer used.")
    return redirect(strategy)


# ── Backtest from the editor ──


def _posted_day(request: HttpRequest, field: str, end: bool = False) -> datetime | None:
    raw = request.POST.get(field, "").strip()
    if not raw:
        return None
    return datetime.combine(date.fromisoformat(raw), time.max if end else time.min, tzinfo=UTC)


@login_required
@require_POST
def backtest(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the latest saved version on the chosen series with the inputs panel's values."""
    strategy = _strategy_or_404(request, pk)
    version = selectors.latest_version(strategy)
    if version is None:
        messages.error(request, "Save a version before running a backtest.")
        return redirect(strategy)
    try:
        from accounts.services import PlanLimitExceeded
        from backtests import services as backtest_services
    except ImportError:
        messages.error(request, "Backtests are not available on this installation.")
        return redirect(strategy)
    try:
        inputs = json.loads(request.POST.get("inputs") or "{}")
        if not isinstance(inputs, dict):
            raise ValueError
    except ValueError:
        messages.error(request, "The input values could not be read.")
        return redirect(strategy)
    capital = None
    if request.POST.get("initial_capital"):
        try:
            capital = Decimal(request.POST["initial_capital"])
        except InvalidOperation:
            messages.error(request, "Initial capital must be a number.")
            return redirect(strategy)
    try:
        date_from = _posted_day(request, "date_from")
        date_to = _posted_day(request, "date_to", end=True)
    except ValueError:
        messages.error(request, "Dates must look like 2024-01-31.")
        return redirect(strategy)
    try:
        run = backtest_services.start_backtest(
            request.user, version, symbol=request.POST.get("symbol", ""), timeframe=request.POST.get("timeframe", ""),
            inputs=inputs, initial_capital=capital, date_from=date_from, date_to=date_to,
        )
    except (backtest_services.BacktestRequestError, PlanLimitExceeded) as error:
        messages.error(request, f"Backtest not started: {error}")
        return redirect(strategy)
    return redirect(run.get_absolute_url())
