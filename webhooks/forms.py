from django import forms

from .models import TRADINGVIEW_WEBHOOK_IPS, BindingAccount, WebhookBinding

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class BindingForm(forms.Form):
    name = forms.CharField(max_length=100)
    passphrase = forms.CharField(required=False, max_length=200, widget=forms.PasswordInput(render_value=False),
                                 help_text="Optional. Leave empty to keep the current one.")
    clear_passphrase = forms.BooleanField(required=False, label="Remove the passphrase")
    tradingview_ips = forms.BooleanField(required=False, label="Only accept TradingView's webhook addresses",
                                         help_text=", ".join(TRADINGVIEW_WEBHOOK_IPS))
    ip_allowlist = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="More addresses or networks, one per line")
    enabled = forms.BooleanField(required=False, initial=True)
    requires_approval = forms.BooleanField(required=False, label="Manual approval before trading")
    approval_timeout_minutes = forms.IntegerField(min_value=1, max_value=1440, initial=15)
    max_signal_age_seconds = forms.IntegerField(required=False, min_value=1, label="Ignore entries older than (s)")
    max_exit_signal_age_seconds = forms.IntegerField(required=False, min_value=1, label="Ignore exits older than (s)")
    drift_policy = forms.ChoiceField(choices=WebhookBinding.DriftPolicy.choices)
    allocation = forms.ChoiceField(choices=WebhookBinding.Allocation.choices)
    dedupe_window_seconds = forms.IntegerField(min_value=0, max_value=3600, initial=60,
                                               label="Treat identical alerts within (s) as duplicates")
    rate_limit_per_minute = forms.IntegerField(min_value=1, max_value=100_000, initial=120)

    def allowlist(self) -> list[str]:
        entries = [line.strip() for line in self.cleaned_data["ip_allowlist"].splitlines() if line.strip()]
        if self.cleaned_data["tradingview_ips"]:
            entries = list(TRADINGVIEW_WEBHOOK_IPS) + [e for e in entries if e not in TRADINGVIEW_WEBHOOK_IPS]
        return entries

    def options(self) -> dict:
        keys = ("enabled", "requires_approval", "approval_timeout_minutes", "max_signal_age_seconds",
                "max_exit_signal_age_seconds", "drift_policy", "allocation", "dedupe_window_seconds",
                "rate_limit_per_minute")
        return {k: self.cleaned_data[k] for k in keys}

    @classmethod
    def initial_for(cls, binding: WebhookBinding) -> dict:
        extra = [ip for ip in binding.ip_allowlist if ip not in TRADINGVIEW_WEBHOOK_IPS]
        return {
            "name": binding.name, "enabled": binding.enabled, "requires_approval": binding.requires_approval,
            "approval_timeout_minutes": binding.approval_timeout_minutes,
            "max_signal_age_seconds": binding.max_signal_age_seconds,
            "max_exit_signal_age_seconds": binding.max_exit_signal_age_seconds,
            "drift_policy": binding.drift_policy, "allocation": binding.allocation,
            "dedupe_window_seconds": binding.dedupe_window_seconds,
            "rate_limit_per_minute": binding.rate_limit_per_minute,
            "tradingview_ips": all(ip in binding.ip_allowlist for ip in TRADINGVIEW_WEBHOOK_IPS),
            "ip_allowlist": "\n".join(extra),
        }


class AccountLinkForm(forms.Form):
    linked = forms.BooleanField(required=False)
    enabled = forms.BooleanField(required=False, initial=True)
    sizing_mode = forms.ChoiceField(choices=BindingAccount.Sizing.choices)
    sizing_value = forms.DecimalField(min_value=0, max_digits=30, decimal_places=12, initial=1)
    stop_distance = forms.DecimalField(required=False, min_value=0, max_digits=30, decimal_places=12)
    direction = forms.ChoiceField(choices=BindingAccount.Direction.choices)
    allowed_symbols = forms.CharField(required=False, help_text="Comma-separated; empty = all")
    session_weekdays = forms.TypedMultipleChoiceField(required=False, choices=WEEKDAYS, coerce=int,
                                                      widget=forms.CheckboxSelectMultiple)
    session_start = forms.RegexField(regex=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", initial="00:00")
    session_end = forms.RegexField(regex=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", initial="24:00")
    max_position = forms.DecimalField(required=False, min_value=0, max_digits=30, decimal_places=12)
    max_orders_per_day = forms.IntegerField(required=False, min_value=0)
    ignore_if_in_position = forms.BooleanField(required=False)
    default_exchange = forms.CharField(required=False, max_length=20, help_text="e.g. BINANCE for bare tickers")
    symbol_overrides = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text="One per line: BTCUSDT=BYBIT:BTCUSDT.P")
    weight = forms.DecimalField(required=False, min_value=0, max_digits=20, decimal_places=8)

    def clean_symbol_overrides(self) -> dict[str, str]:
        overrides = {}
        for line in self.cleaned_data["symbol_overrides"].splitlines():
            if not line.strip():
                continue
            source, sep, target = line.partition("=")
            if not sep or not source.strip() or ":" not in target:
                raise forms.ValidationError(f"{line!r}: write TICKER=EXCHANGE:SYMBOL")
            overrides[source.strip().upper()] = target.strip().upper()
        return overrides

    def clean_allowed_symbols(self) -> list[str]:
        return [s.strip().upper() for s in self.cleaned_data["allowed_symbols"].split(",") if s.strip()]

    @staticmethod
    def initial_for(link: BindingAccount | None) -> dict:
        if link is None:
            return {"linked": False, "enabled": True, "sizing_mode": "as_alert", "sizing_value": 1,
                    "direction": "both", "session_start": "00:00", "session_end": "24:00"}
        return {
            "linked": True, "enabled": link.enabled, "sizing_mode": link.sizing_mode,
            "sizing_value": link.sizing_value.normalize(), "stop_distance": link.stop_distance,
            "direction": link.direction, "allowed_symbols": ", ".join(link.allowed_symbols),
            "session_weekdays": link.session_weekdays, "session_start": link.session_start,
            "session_end": link.session_end, "max_position": link.max_position,
            "max_orders_per_day": link.max_orders_per_day, "ignore_if_in_position": link.ignore_if_in_position,
            "default_exchange": link.default_exchange,
            "symbol_overrides": "\n".join(f"{k}={v}" for k, v in link.symbol_overrides.items()),
            "weight": link.weight,
        }
