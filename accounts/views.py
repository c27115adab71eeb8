import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import push, services
from .forms import LoginForm, SignUpForm
from .models import NotificationEvent, Organization
from .selectors import current_organization


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user, backend="accounts.backends.EmailTenantBackend")
        target = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = ""
        return redirect(target or "dashboard")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, "You are logged out.")
    return redirect("accounts:login")


def signup_view(request: HttpRequest) -> HttpResponse:
    organization = current_organization()
    if organization is None or organization.kind != Organization.Kind.RETAIL:
        # Business tenants add their members themselves; sign-up is for retail users on the main site.
        return render(request, "accounts/signup_closed.html", status=403)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(
                form.cleaned_data["email"], form.cleaned_data["password"], form.cleaned_data["display_name"]
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            login(request, user, backend="accounts.backends.EmailTenantBackend")
            messages.success(request, "Welcome to 4pass. A paper account is ready for you.")
            return redirect("dashboard")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


@login_required
def notifications_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        for event, _label in NotificationEvent.choices:
            push.set_preference(request.user, event, request.POST.get(event) == "on")
        messages.success(request, "Notification settings saved.")
        return redirect("accounts:notifications")
    disabled = set(
        request.user.notification_preferences.filter(push_enabled=False).values_list("event", flat=True)
    )
    events = [{"value": value, "label": label, "enabled": value not in disabled} for value, label in NotificationEvent.choices]
    devices = request.user.push_subscriptions.order_by("-created_at")
    return render(request, "accounts/notifications.html", {"events": events, "devices": devices})


@login_required
@require_http_methods(["POST", "DELETE"])
def push_subscription_view(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return JsonResponse({"error": "The body must be the JSON of a PushSubscription."}, status=400)
    if request.method == "DELETE":
        removed = push.remove_subscription(request.user, str(body.get("endpoint", "")))
        return JsonResponse({"removed": removed})
    try:
        subscription = push.save_subscription(request.user, body, request.headers.get("User-Agent", ""))
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    return JsonResponse({"id": subscription.pk}, status=201)
