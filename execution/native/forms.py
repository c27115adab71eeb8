import json
from decimal import Decimal

from django import forms

from backtests.marketdata.models import MarketSeries
from brokers.models import BrokerAccount
from execution.signals import SizingMode
from strategies.models import StrategyVersion

from .models import Deployment


class DeploymentForm(forms.Form):
    name = forms.CharField(max_length=120, required=False, help_text="Blank: strategy, version and symbol.")
    strategy_version = forms.ModelChoiceField(queryset=StrategyVersion.objects.none(), label="Strategy version")
    series = forms.ModelChoiceField(queryset=MarketSeries.objects.order_by("symbol", "timeframe"),
                                    label="Symbol and timeframe")
    inputs = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text='Input overrides as JSON, e.g. {"Fast EMA": 10}. Blank: the defaults.')
    mode = forms.ChoiceField(choices=Deployment.Mode.choices, initial=Deployment.Mode.PAPER)
    accounts = forms.ModelMultipleChoiceField(queryset=BrokerAccount.objects.none(),
                                              widget=forms.CheckboxSelectMultiple, label="Broker accounts")
    sizing_mode = forms.ChoiceField(choices=[(m.value, m.value.replace("_", " ")) for m in SizingMode],
                                    initial=SizingMode.AS_ALERT, label="Sizing on each account")
    sizing_value = forms.DecimalField(initial=Decimal(1), min_value=Decimal("0.00000001"),
                                      help_text="Units, multiplier, % of equity or cash, depending on the sizing.")
    stale_policy = forms.ChoiceField(choices=Deployment.StalePolicy.choices, initial=Deployment.StalePolicy.SKIP,
                                     label="Missed bars")
    max_orders_per_day = forms.IntegerField(required=False, min_value=1,
                                            help_text="The deployment stops when crossed.")
    max_position = forms.DecimalField(required=False, min_value=Decimal("0.00000001"),
                                      help_text="Absolute strategy position; the deployment stops when crossed.")
    confirm_live = forms.BooleanField(required=False, label="I understand this trades real money")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategy_version"].queryset = (
            StrategyVersion.objects.filter(strategy__owner=user).select_related("strategy")
            .order_by("strategy__name", "-number"))
        self.fields["strategy_version"].label_from_instance = lambda v: f"{v.strategy.name} · v{v.number}"
        self.fields["accounts"].queryset = BrokerAccount.objects.filter(owner=user, enabled=True)

    def clean_inputs(self) -> dict:
        raw = (self.cleaned_data.get("inputs") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"not valid JSON: {error.msg} (line {error.lineno})") from error
        if not isinstance(value, dict):
            raise forms.ValidationError("give an object of input name → value")
        return value

    def clean(self):
        data = super().clean()
        if data.get("mode") == Deployment.Mode.LIVE and not data.get("confirm_live"):
            self.add_error("confirm_live", "A live deployment must be confirmed.")
        return data
