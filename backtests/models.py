"""Backtest runs, their stored results and parameter sweeps (tenant schema)."""

import io
from functools import cached_property

import numpy as np
from django.conf import settings
from django.db import models
from django.urls import reverse


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class ParameterSweep(models.Model):
    """A grid of backtests of one strategy version over chosen inputs; each cell is a BacktestRun."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    strategy_version = models.ForeignKey("strategies.StrategyVersion", on_delete=models.CASCADE, related_name="+")
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)
    date_from = models.DateTimeField(null=True, blank=True)
    date_to = models.DateTimeField(null=True, blank=True)
    initial_capital = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    base_inputs = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=list, help_text='[{"name": "length", "values": [10, 20, 30]}, ...]')
    metric = models.CharField(max_length=40, default="net_profit")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Sweep {self.pk} of {self.strategy_version}"

    def get_absolute_url(self) -> str:
        return reverse("backtests:sweep", args=[self.pk])


class BacktestRun(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    strategy_version = models.ForeignKey("strategies.StrategyVersion", on_delete=models.CASCADE, related_name="+")
    series = models.ForeignKey(
        # DO_NOTHING: series live in the public schema and are deleted from there, where tenant tables are not
        # visible; `stored_series` copes with a series that is gone.
        "marketdata.MarketSeries", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_constraint=False,
        help_text="The stored series the bars came from (resampled when its timeframe differs)",
    )
    sweep = models.ForeignKey(ParameterSweep, on_delete=models.CASCADE, null=True, blank=True, related_name="runs")
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)
    date_from = models.DateTimeField(null=True, blank=True)
    date_to = models.DateTimeField(null=True, blank=True)
    inputs = models.JSONField(default=dict, blank=True, help_text="Input overrides by input name")
    initial_capital = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)

    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    bars_done = models.PositiveIntegerField(default=0)
    bars_total = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    error_line = models.PositiveIntegerField(null=True, blank=True)
    error_column = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Renewed by the worker while running")
    worker = models.CharField(max_length=120, blank=True, help_text="host:pid of the worker holding the run")

    data_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the bars used")
    engine_version = models.CharField(max_length=40, blank=True)
    load_seconds = models.FloatField(null=True, blank=True)
    run_seconds = models.FloatField(null=True, blank=True)
    store_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"Backtest {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("backtests:run", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress_percent(self) -> int:
        if self.status == RunStatus.SUCCEEDED:
            return 100
        return int(100 * self.bars_done / self.bars_total) if self.bars_total else 0

    @property
    def stored_series(self):
        from backtests.marketdata.models import MarketSeries

        try:
            return self.series
        except MarketSeries.DoesNotExist:
            return None

    @property
    def error_source_line(self) -> str:
        """The Pine source line the error points at (for showing it under the message)."""
        if not self.error_line:
            return ""
        lines = self.strategy_version.source.splitlines()
        return lines[self.error_line - 1] if 0 < self.error_line <= len(lines) else ""

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ResultManager(models.Manager):
    """Leaves the (large) per-bar arrays in the database until something reads them."""

    def get_queryset(self):
        return super().get_queryset().defer("arrays")


class BacktestResult(models.Model):
    """Everything a finished run produced. Per-bar series (bar open times in epoch ms, equity, drawdown,
    buy-and-hold equity and every numeric plot) are stored together as one uncompressed .npz blob: a 100k-bar
    run writes ~4 MB of float64 in milliseconds, where JSON arrays took seconds to encode and parse."""

    run = models.OneToOneField(BacktestRun, on_delete=models.CASCADE, related_name="result", primary_key=True)
    summary = models.JSONField(default=dict)
    arrays = models.BinaryField(help_text="numpy .npz: time, equity, drawdown, buy_and_hold, plot:<title>...")
    trade_count = models.PositiveIntegerField(default=0)

    PLOT_PREFIX = "plot:"

    objects = ResultManager()

    class Meta:
        base_manager_name = "objects"  # run.result also defers the arrays

    def __str__(self) -> str:
        return f"Result of run {self.run_id}"

    @staticmethod
    def pack(arrays: dict[str, np.ndarray]) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        with np.load(io.BytesIO(bytes(self.arrays)), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def array(self, name: str) -> np.ndarray:
        return self._arrays[name]

    @staticmethod
    def as_list(values: np.ndarray) -> list[float | None]:
        """JSON-ready values: NaN/inf become None."""
        array = np.asarray(values, dtype=np.float64)
        cleaned = array.astype(object)
        cleaned[~np.isfinite(array)] = None
        return cleaned.tolist()

    @property
    def times(self) -> list[int]:
        return self.array("time").tolist()

    @property
    def equity(self) -> list[float | None]:
        return self.as_list(self.array("equity"))

    @property
    def drawdown(self) -> list[float | None]:
        return self.as_list(self.array("drawdown"))

    @property
    def buy_and_hold(self) -> list[float | None]:
        return self.as_list(self.array("buy_and_hold"))

    @property
    def plots(self) -> dict[str, list[float | None]]:
        return {
            name[len(self.PLOT_PREFIX):]: self.as_list(values)
            for name, values in self._arrays.items()
            if name.startswith(self.PLOT_PREFIX)
        }


class BacktestTrade(models.Model):
    """One trade (TradingView's entry/exit row pair) of a run."""

    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="trades")
    number = models.PositiveIntegerField()
    direction = models.CharField(max_length=5)  # long | short
    entry_time = models.BigIntegerField(help_text="epoch ms")
    entry_price = models.FloatField()
    entry_signal = models.CharField(max_length=200, blank=True)
    exit_time = models.BigIntegerField(null=True, blank=True)
    exit_price = models.FloatField(null=True, blank=True)
    exit_signal = models.CharField(max_length=200, blank=True)
    quantity = models.FloatField()
    profit = models.FloatField()
    profit_percent = models.FloatField()
    run_up = models.FloatField()
    run_up_percent = models.FloatField()
    drawdown = models.FloatField()
    drawdown_percent = models.FloatField()
    cumulative_profit = models.FloatField()
    commission = models.FloatField(default=0)
    bars_held = models.IntegerField(default=0)
    is_open = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="unique_trade_number_per_run")]

    def __str__(self) -> str:
        return f"#{self.number} {self.direction} {self.profit:+.2f}"
