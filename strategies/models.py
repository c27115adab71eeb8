from django.conf import settings
from django.db import models
from django.urls import reverse


class Strategy(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_strategy_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("strategies:detail", args=[self.pk])


class StrategyVersion(models.Model):
    """An immutable, compiled snapshot of a strategy's Pine source; backtests and deployments point here."""

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    source = models.TextField()
    inputs = models.JSONField(default=list, blank=True)
    plots = models.JSONField(default=list, blank=True)
    declaration = models.JSONField(default=dict, blank=True)
    builder_state = models.JSONField(
        null=True, blank=True, help_text="The visual builder's blocks this source was generated from (null: code)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["strategy", "number"], name="unique_strategy_version")]

    def __str__(self) -> str:
        return f"{self.strategy.name} v{self.number}"

    @property
    def is_builder(self) -> bool:
        return self.builder_state is not None
