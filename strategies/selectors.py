import difflib
from dataclasses import dataclass
from functools import cache

from django.db.models import QuerySet

from accounts.models import User

from .models import Strategy, StrategyVersion


def strategies_for(user: User) -> QuerySet[Strategy]:
    """Strategies the user may see: their own (retail users share a tenant, so scope by owner)."""
    return Strategy.objects.filter(owner_id=user.pk)


def strategy_for(user: User, strategy_id: int) -> Strategy:
    return strategies_for(user).get(pk=strategy_id)


def latest_version(strategy: Strategy) -> StrategyVersion | None:
    return strategy.versions.order_by("-number").first()


def version_of(strategy: Strategy, number: int) -> StrategyVersion:
    return strategy.versions.get(number=number)


def is_builder_strategy(strategy: Strategy) -> bool:
    """A strategy is edited in the builder while its latest version carries builder blocks."""
    latest = latest_version(strategy)
    return latest is not None and latest.builder_state is not None


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "context" | "added" | "removed" | "hunk"
    old_number: int | None
    new_number: int | None
    text: str


def version_diff(old: StrategyVersion, new: StrategyVersion, context: int = 3) -> list[DiffLine]:
    """A unified diff of two versions' sources, with line numbers on both sides, for the diff page."""
    old_lines, new_lines = old.source.splitlines(), new.source.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    out: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(DiffLine("hunk", None, None,
                            f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("context", i + 1, j + 1, old_lines[i]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
                continue
            if tag in ("replace", "delete"):
                out += [DiffLine("removed", i + 1, None, old_lines[i]) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                out += [DiffLine("added", None, j + 1, new_lines[j]) for j in range(j1, j2)]
    return out


@cache
def pine_completions() -> list[dict]:
    """Pine built-ins for the editor's autocompletion: functions with their parameters, variables, constants."""
    from strategies.pine import builtins

    items: list[dict] = []
    for name, signatures in builtins.FUNCTIONS.items():
        if name in builtins.UNSUPPORTED_FUNCTIONS:
            continue
        signature = signatures[0]
        params = ", ".join(p.name for p in signature.params)
        items.append({"label": name, "type": "function", "detail": f"({params}) → {signature.returns}",
                      "apply": f"{name}("})
    items += [{"label": name, "type": "variable"} for name in builtins.VARIABLES if name not in builtins.FUNCTIONS]
    items += [{"label": name, "type": "constant"} for name in builtins.CONSTANTS]
    items += [{"label": word, "type": "keyword"} for word in (
        "if", "else", "for", "while", "switch", "var", "varip", "and", "or", "not", "true", "false", "na")]
    return sorted(items, key=lambda item: item["label"])
