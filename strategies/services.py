from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts.models import User

from .models import Strategy, StrategyVersion


class StrategyCompileError(ValidationError):
    """The Pine source has errors; `diagnostics` holds them (file:line:col: message)."""

    def __init__(self, diagnostics: list[str]):
        self.diagnostics = diagnostics
        super().__init__(diagnostics)


def create_strategy(owner: User, name: str, description: str = "") -> Strategy:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the strategy a name."})
    if Strategy.objects.filter(owner_id=owner.pk, name=name).exists():
        raise ValidationError({"name": f"You already have a strategy named '{name}'."})
    return Strategy.objects.create(owner=owner, name=name, description=description)


@transaction.atomic
def save_version(strategy: Strategy, source: str) -> StrategyVersion:
    """Compile `source`; only a source without errors becomes a new immutable version."""
    from strategies.pine import compile_source

    result = compile_source(source, filename=f"{strategy.name}.pine")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        raise StrategyCompileError([d.format(f"{strategy.name}.pine") for d in errors])
    Strategy.objects.select_for_update().filter(pk=strategy.pk).first()
    number = (strategy.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    payload = result.to_json()
    version = StrategyVersion.objects.create(
        strategy=strategy,
        number=number,
        source=source,
        inputs=payload.get("inputs", []),
        plots=payload.get("plots", []),
        declaration=payload.get("declaration", {}),
    )
    strategy.save(update_fields=["updated_at"])
    return version
