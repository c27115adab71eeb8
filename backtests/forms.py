from django import forms

from backtests.marketdata.models import MarketSeries
from backtests.marketdata.timeframes import UnknownTimeframe, normalize_timeframe


class BacktestForm(forms.Form):
    version = forms.ModelChoiceField(queryset=None, label="Strategy version", empty_label=None)
    symbol = forms.ChoiceField(label="Symbol")
    timeframe = forms.CharField(max_length=8, initial="60", help_text="1, 5, 15, 60, 240, 1D, 1W — higher timeframes are resampled")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    initial_capital = forms.DecimalField(
        required=False, min_value=1, max_digits=20, decimal_places=2, label="Initial capital",
        help_text="Blank: the strategy() declaration's value",
    )

    def __init__(self, *args, versions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions
        symbols = sorted(set(MarketSeries.objects.values_list("symbol", flat=True)))
        self.fields["symbol"].choices = [(s, s) for s in symbols]

    def clean_timeframe(self):
        try:
            return normalize_timeframe(self.cleaned_data["timeframe"])
        except UnknownTimeframe as error:
            raise forms.ValidationError(str(error)) from error


class NewStrategyForm(forms.Form):
    name = forms.CharField(max_length=120)
    source = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}), label="Pine Script source")


class UploadBarsForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: time, open, high, low, close[, volume]")
    symbol = forms.CharField(max_length=64, help_text="e.g. BINANCE:BTCUSDT")
    timeframe = forms.CharField(max_length=8, initial="60")
    timezone = forms.CharField(max_length=64, initial="Etc/UTC", help_text="Exchange time zone; naive times are read in it")
    mintick = forms.DecimalField(required=False, max_digits=20, decimal_places=10, min_value=0)


class ParityUploadForm(forms.Form):
    file = forms.FileField(label="TradingView trades CSV", help_text="Strategy Tester → List of trades → Export")
