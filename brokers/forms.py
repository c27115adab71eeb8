from django import forms

from .models import BrokerAccount

CREDENTIAL_FIELDS = ("api_key", "secret", "passphrase", "person_id", "ca_path", "ca_password")


class BrokerAccountForm(forms.Form):
    """Secrets use password inputs that never render a value: a saved secret is never sent back."""

    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=[c for c in BrokerAccount.Kind.choices if c[0] != BrokerAccount.Kind.BRIDGE])
    exchange = forms.ChoiceField(choices=BrokerAccount.Exchange.choices, required=False)
    market_type = forms.ChoiceField(choices=BrokerAccount.MarketType.choices)
    is_live = forms.BooleanField(required=False, label="Live (real money)")
    queue_outside_hours = forms.BooleanField(required=False, label="Queue orders sent outside trading hours")
    api_key = forms.CharField(required=False, label="API key", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    secret = forms.CharField(required=False, label="API secret", widget=forms.PasswordInput(render_value=False))
    passphrase = forms.CharField(
        required=False, label="Passphrase (OKX)", widget=forms.PasswordInput(render_value=False)
    )
    person_id = forms.CharField(required=False, label="Person ID (Shioaji CA)")
    ca_path = forms.CharField(required=False, label="CA certificate path (Shioaji, live only)")
    ca_password = forms.CharField(
        required=False, label="CA password (Shioaji)", widget=forms.PasswordInput(render_value=False)
    )

    def __init__(self, *args, editing: BrokerAccount | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing is not None:
            for name in ("kind", "exchange", "market_type"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            if editing.credentials_last4:
                self.fields["api_key"].help_text = f"Saved key ends in …{editing.credentials_last4}. Leave blank to keep it."
            if editing.has_credentials:
                self.fields["secret"].help_text = "Saved. Leave blank to keep it."

    def credentials(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in CREDENTIAL_FIELDS}
