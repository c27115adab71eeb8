"""Section landing pages of the dashboard shell whose apps have no richer page yet."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def section_page(title: str, description: str):
    @login_required
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, "core/section.html", {"title": title, "description": description})

    return view
