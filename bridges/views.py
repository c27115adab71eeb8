from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def instance_list(request: HttpRequest) -> HttpResponse:
    """The tenant's bridge terminals: one per broker account, with status and recent history."""
    instances = list(selectors.instances_for_tenant(connection.schema_name))
    rows = [{"instance": instance, "events": selectors.recent_events(instance, limit=5)} for instance in instances]
    return render(request, "bridges/instance_list.html", {"rows": rows})
