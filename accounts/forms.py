from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError

from .selectors import current_organization, user_by_email


class LoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if not email or not password:
            return cleaned
        self.user = authenticate(self.request, email=email, password=password)
        if self.user is None:
            existing = user_by_email(email)
            organization = current_organization()
            if existing is not None and existing.check_password(password) and organization is not None:
                raise ValidationError(
                    f"Your account is not a member of {organization.name}. "
                    "Log in on your own organisation's address."
                )
            if existing is not None and existing.check_password(password) and not existing.is_active:
                raise ValidationError("This account is disabled. Contact support.")
            raise ValidationError("The e-mail address or password is incorrect.")
        return cleaned


class SignUpForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters, not a common password.",
    )
