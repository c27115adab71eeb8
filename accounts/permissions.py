from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Membership


class IsTenantMember(BasePermission):
    """Authenticated members of the request's tenant; viewers may only read."""

    message = "You must be a member of this organisation."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        membership = getattr(request._request, "membership", None)
        if membership is None:
            return False
        if request.method not in SAFE_METHODS and membership.role == Membership.Role.VIEWER:
            self.message = "Viewers cannot make changes."
            return False
        return True
