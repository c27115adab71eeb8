"""The builder endpoints: live preview, saving block versions, refusing bad blocks, converting to code."""

import json

from django.urls import reverse

from strategies import services
from strategies.builder import default_state
from strategies.models import Strategy
from tests.strategies.factories import GOOD_SOURCE, make_strategy


def builder_strategy(owner, name: str = "Blocks") -> Strategy:
    return services.create_strategy_from_template(owner, name, "builder")


def test_the_preview_returns_the_generated_pine_and_its_inputs(web, trader, in_retail):
    strategy = builder_strategy(trader)
    state = default_state("Blocks")
    state["indicators"][0]["length"] = 5
    payload = web.post(reverse("strategies:builder_preview", args=[strategy.pk]), {"state": json.dumps(state)}).json()
    assert payload["ok"] is True and payload["errors"] == []
    assert 'fastLength = input.int(5, "Length"' in payload["source"]
    assert {"fastLength", "slowLength", "rsiLength"} <= {i["name"] for i in payload["inputs"]}


def test_the_preview_returns_schema_errors_for_bad_blocks(web, trader, in_retail):
    strategy = builder_strategy(trader)
    state = default_state()
    state["indicators"][0]["length"] = None
    payload = web.post(reverse("strategies:builder_preview", args=[strategy.pk]), {"state": json.dumps(state)}).json()
    assert payload["ok"] is False
    assert payload["errors"] == ["indicators[0].length: a value is required here"]


def test_the_preview_reports_unreadable_json(web, trader, in_retail):
    strategy = builder_strategy(trader)
    response = web.post(reverse("strategies:builder_preview", args=[strategy.pk]), {"state": "{nope"})
    assert response.status_code == 400
    assert response.json()["errors"] == ["The blocks could not be read (invalid JSON)."]


def test_saving_blocks_stores_the_state_and_the_generated_source_as_a_version(web, trader, in_retail):
    strategy = builder_strategy(trader)
    state = default_state("Blocks")
    state["pyramiding"] = 2
    response = web.post(reverse("strategies:builder_save", args=[strategy.pk]), {"state": json.dumps(state)})
    assert response.status_code == 302
    version = strategy.versions.order_by("-number").first()
    assert version.number == 2
    assert version.builder_state == state
    assert "pyramiding = 2" in version.source
    assert version.declaration["kind"] == "strategy"


def test_saving_invalid_blocks_stores_nothing_and_shows_why(web, trader, in_retail):
    strategy = builder_strategy(trader)
    state = default_state()
    state["rules"]["long_entry"]["conditions"][0]["left"]["ref"] = "ghost"
    response = web.post(reverse("strategies:builder_save", args=[strategy.pk]), {"state": json.dumps(state)})
    assert response.status_code == 400
    assert "there is no indicator named &#x27;ghost&#x27;" in response.content.decode()
    assert strategy.versions.count() == 1


def test_the_builder_page_renders_the_blocks_and_the_catalogue(web, trader, in_retail):
    strategy = builder_strategy(trader)
    page = web.get(reverse("strategies:detail", args=[strategy.pk])).content.decode()
    assert 'id="builder-app"' in page
    assert '"supertrend"' in page  # the catalogue the blocks are rendered from
    assert "fast = ta.ema(fastSource, fastLength)" in page


def test_converting_to_code_creates_a_code_version_with_the_same_source(web, trader, in_retail):
    strategy = builder_strategy(trader)
    generated = strategy.versions.get().source
    web.post(reverse("strategies:convert", args=[strategy.pk]))
    latest = strategy.versions.order_by("-number").first()
    assert (latest.number, latest.builder_state, latest.source) == (2, None, generated)
    page = web.get(reverse("strategies:detail", args=[strategy.pk])).content.decode()
    assert 'id="editor"' in page and 'id="builder-app"' not in page


def test_the_builder_cannot_overwrite_a_code_strategy(web, trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    web.post(reverse("strategies:builder_save", args=[strategy.pk]), {"state": json.dumps(default_state())})
    assert strategy.versions.count() == 1


def test_a_code_strategy_cannot_be_converted_again(trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    import pytest
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="already edited as code"):
        services.convert_to_code(strategy)
