from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts.models import User

from .builder import BuilderStateError, default_state, generate_pine
from .examples import TEMPLATES
from .models import Strategy, StrategyVersion

BLANK_SOURCE = """//@version=6
strategy("{title}", overlay = true)

fastLength = input.int(9, "Fast length", minval = 1)
slowLength = input.int(21, "Slow length", minval = 1)
fast = ta.ema(close, fastLength)
slow = ta.ema(close, slowLength)

if ta.crossover(fast, slow)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("Long")

plot(fast, "Fast", color = color.teal)
plot(slow, "Slow", color = color.orange)
"""


class StrategyCompileError(ValidationError):
    """The Pine source has errors; `diagnostics` holds them (file:line:col: message), `details` as dicts
    (severity, line, col, end_line, end_col, message, code) for the editor."""

    def __init__(self, diagnostics: list[str], details: list[dict] | None = None):
        self.diagnostics = diagnostics
        self.details = details or []
        super().__init__(diagnostics)


def compile_preview(source: str, filename: str = "script.pine") -> dict[str, Any]:
    """What the editor shows while typing: ok, diagnostics, inputs, plots and declaration as JSON."""
    from strategies.pine import compile_source

    return compile_source(source, filename=filename).to_json()


def create_strategy(owner: User, name: str, description: str = "") -> Strategy:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the strategy a name."})
    if len(name) > Strategy._meta.get_field("name").max_length:
        raise ValidationError({"name": "Keep the name under 120 characters."})
    if Strategy.objects.filter(owner_id=owner.pk, name=name).exists():
        raise ValidationError({"name": f"You already have a strategy named '{name}'."})
    return Strategy.objects.create(owner=owner, name=name, description=description)


@transaction.atomic
def create_strategy_from_template(owner: User, name: str, template_key: str) -> Strategy:
    """A new strategy whose first version is a built-in example (`template_key` from strategies.examples),
    "builder" for the visual builder's starting blocks, or "blank" for a small EMA cross."""
    if template_key not in TEMPLATES and template_key not in ("blank", "builder"):
        raise ValidationError({"template": f"Unknown template '{template_key}'."})
    strategy = create_strategy(owner, name, TEMPLATES[template_key].description if template_key in TEMPLATES else "")
    if template_key == "builder":
        save_builder_version(strategy, default_state(_title_for(strategy.name)))
    elif template_key == "blank":
        save_version(strategy, BLANK_SOURCE.replace("{title}", _escaped_title(strategy.name)))
    else:
        save_version(strategy, TEMPLATES[template_key].source)
    return strategy


def _title_for(name: str) -> str:
    # builder titles are single-line and at most 80 characters (schema)
    return "".join(ch for ch in name if ch.isprintable())[:80] or "Strategy"


def _escaped_title(name: str) -> str:
    from .builder import pine_string

    return pine_string(_title_for(name))[1:-1]


@transaction.atomic
def save_version(strategy: Strategy, source: str, builder_state: dict | None = None) -> StrategyVersion:
    """Compile `source`; only a source without errors becomes a new immutable version.

    Raises StrategyCompileError (nothing stored) when the compiler reports errors.
    """
    from strategies.pine import compile_source

    filename = f"{strategy.name}.pine"
    result = compile_source(source, filename=filename)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        raise StrategyCompileError([d.format(filename) for d in errors], [d.to_json() for d in errors])
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
        builder_state=builder_state,
    )
    strategy.save(update_fields=["updated_at"])
    return version


def save_builder_version(strategy: Strategy, state: dict) -> StrategyVersion:
    """Validate the builder blocks, generate their Pine and store both as a new version.

    Raises BuilderStateError for malformed blocks, StrategyCompileError if the generated code does not
    compile (a generator bug: nothing is stored either way).
    """
    source = generate_pine(state)
    return save_version(strategy, source, builder_state=state)


def convert_to_code(strategy: Strategy) -> StrategyVersion:
    """One way: a new version with the builder's generated source and no builder state, edited as code
    from then on (earlier builder versions stay as they were)."""
    latest = strategy.versions.order_by("-number").first()
    if latest is None or latest.builder_state is None:
        raise ValidationError("This strategy is already edited as code.")
    return save_version(strategy, latest.source)


def restore_version(version: StrategyVersion) -> StrategyVersion:
    """A new latest version with an earlier version's source (and builder blocks); history is kept."""
    return save_version(version.strategy, version.source, builder_state=version.builder_state)


__all__ = [
    "BLANK_SOURCE",
    "BuilderStateError",
    "StrategyCompileError",
    "compile_preview",
    "convert_to_code",
    "create_strategy",
    "create_strategy_from_template",
    "restore_version",
    "save_builder_version",
    "save_version",
]
