from django.contrib.auth import logout

from .backends import may_enter_current_tenant
from .selectors import current_organization, membership_for


class TenantMembershipMiddleware:
    """Attach the user's membership of the request's tenant; a session without one is ended."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if not may_enter_current_tenant(user):
                logout(request)
            else:
                organization = current_organization()
                if organization is not None:
                    request.membership = membership_for(user, organization)
        return self.get_response(request)
