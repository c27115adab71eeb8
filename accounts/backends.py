from django.contrib.auth.backends import ModelBackend

from .models import User
from .selectors import current_organization, membership_for, user_by_email


class EmailTenantBackend(ModelBackend):
    """Log in by e-mail, and only into tenants the user is a member of (staff superusers: everywhere)."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = email or username
        if not email or password is None:
            return None
        user = user_by_email(email)
        if user is None:
            User().set_password(password)  # same work as a real check, so timing does not reveal e-mails
            return None
        if not user.check_password(password) or not self.user_can_authenticate(user):
            return None
        if not may_enter_current_tenant(user):
            return None
        return user


def may_enter_current_tenant(user: User) -> bool:
    if user.is_superuser:
        return True
    organization = current_organization()
    if organization is None:  # public schema: platform pages and staff admin only
        return user.is_staff
    return membership_for(user, organization) is not None
