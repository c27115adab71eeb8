from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import selectors, services
from .models import Strategy


@login_required
def strategy_list(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        try:
            strategy = services.create_strategy(request.user, request.POST.get("name", ""))
        except ValidationError as error:
            errors = [m for ms in error.message_dict.values() for m in ms]
        else:
            messages.success(request, f"Strategy '{strategy.name}' created.")
            return redirect(strategy)
    context = {"strategies": selectors.strategies_for(request.user), "errors": errors}
    template = "strategies/partials/list.html" if request.htmx else "strategies/list.html"
    return render(request, template, context, status=400 if errors else 200)


@login_required
def strategy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        strategy = selectors.strategy_for(request.user, pk)
    except Strategy.DoesNotExist as missing:
        raise Http404("No such strategy.") from missing
    return render(request, "strategies/detail.html", {"strategy": strategy, "versions": strategy.versions.all()})
