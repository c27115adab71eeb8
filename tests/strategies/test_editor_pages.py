"""The code editor pages: live compile endpoint, saving versions, versions and diffs, templates."""

import json

from django.urls import reverse

from strategies import services
from strategies.examples import TEMPLATES
from strategies.models import Strategy, StrategyVersion
from tests.strategies.factories import BROKEN_SOURCE, GOOD_SOURCE, make_strategy


def test_the_compile_endpoint_returns_diagnostics_at_the_line_of_the_error(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(reverse("strategies:compile", args=[strategy.pk]), {"source": BROKEN_SOURCE})
    payload = response.json()
    assert response.status_code == 200
    assert payload["ok"] is False
    (error,) = [d for d in payload["diagnostics"] if d["severity"] == "error"]
    assert error["line"] == 7
    assert "slowLenght" in error["message"]


def test_the_compile_endpoint_returns_the_detected_inputs_and_plots(web, trader, in_retail):
    strategy = make_strategy(trader)
    payload = web.post(reverse("strategies:compile", args=[strategy.pk]), {"source": GOOD_SOURCE}).json()
    assert payload["ok"] is True
    fast = payload["inputs"][0]
    assert (fast["name"], fast["kind"], fast["defval"], fast["minval"], fast["maxval"], fast["group"]) == (
        "fastLength", "int", 9, 1, 200, "MA")
    assert [p["title"] for p in payload["plots"]] == ["Fast"]


def test_the_compile_endpoint_refuses_other_users_strategies(client_on, retail_tenant, stranger, trader, in_retail):
    strategy = make_strategy(trader)
    response = client_on(retail_tenant, stranger).post(reverse("strategies:compile", args=[strategy.pk]), {"source": ""})
    assert response.status_code == 404


def test_saving_a_script_that_compiles_creates_an_immutable_version(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(reverse("strategies:save", args=[strategy.pk]), {"source": GOOD_SOURCE})
    assert response.status_code == 302
    version = strategy.versions.get()
    assert (version.number, version.source, version.builder_state) == (1, GOOD_SOURCE, None)
    assert [i["name"] for i in version.inputs] == ["fastLength", "slowLength", "useShorts"]


def test_saving_a_script_with_errors_is_refused_and_stores_nothing(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(reverse("strategies:save", args=[strategy.pk]), {"source": BROKEN_SOURCE})
    assert response.status_code == 400
    assert not StrategyVersion.objects.filter(strategy=strategy).exists()
    page = response.content.decode()
    assert "Not saved" in page
    assert "Cross.pine:7:" in page
    assert "slowLenght" in page  # the user's text is shown again, not lost


def test_saving_the_same_source_twice_creates_no_new_version(web, trader, in_retail):
    strategy = make_strategy(trader)
    url = reverse("strategies:save", args=[strategy.pk])
    web.post(url, {"source": GOOD_SOURCE})
    web.post(url, {"source": GOOD_SOURCE})
    assert strategy.versions.count() == 1


def test_the_editor_page_shows_the_latest_source_and_its_inputs(web, trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    page = web.get(reverse("strategies:detail", args=[strategy.pk])).content.decode()
    assert 'id="editor"' in page
    assert "fastLength = input.int(9" in page
    initial = json.loads(page.split('id="compile-initial" type="application/json">')[1].split("</script>")[0])
    assert [i["name"] for i in initial["inputs"]] == ["fastLength", "slowLength", "useShorts"]


def test_the_version_diff_shows_added_and_removed_lines_with_numbers(web, trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    services.save_version(strategy, GOOD_SOURCE.replace("input.int(9,", "input.int(12,"))
    response = web.get(reverse("strategies:diff", args=[strategy.pk]), {"a": 2, "b": 1})
    page = response.content.decode()
    assert "v1 → v2" in page
    assert 'diff-line diff-removed' in page and "input.int(9," in page
    assert 'diff-line diff-added' in page and "input.int(12," in page
    assert "+1" in page and "−1" in page


def test_version_diff_lines_number_both_sides():
    old = StrategyVersion(source="a\nb\nc\n")
    new = StrategyVersion(source="a\nB\nc\nd\n")
    from strategies.selectors import version_diff

    lines = [(line.kind, line.old_number, line.new_number, line.text) for line in version_diff(old, new)]
    assert lines == [("hunk", None, None, "@@ -1,3 +1,4 @@"), ("context", 1, 1, "a"), ("removed", 2, None, "b"),
                     ("added", None, 2, "B"), ("context", 3, 3, "c"), ("added", None, 4, "d")]


def test_the_versions_page_lists_every_version(web, trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    services.save_version(strategy, GOOD_SOURCE + "\n// note\n")
    page = web.get(reverse("strategies:versions", args=[strategy.pk])).content.decode()
    assert "v1" in page and "v2" in page


def test_a_version_page_shows_its_source(web, trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    page = web.get(reverse("strategies:version", args=[strategy.pk, 1])).content.decode()
    assert "fastLength = input.int(9" in page


def test_a_new_strategy_from_a_template_starts_with_its_source(web, trader, in_retail):
    response = web.post(reverse("strategies:list"), {"name": "My RSI", "template": "tv_rsi_strategy"})
    strategy = Strategy.objects.get(owner=trader, name="My RSI")
    assert response.status_code == 302
    assert strategy.versions.get().source == TEMPLATES["tv_rsi_strategy"].source


def test_a_new_builder_strategy_starts_with_builder_blocks(web, trader, in_retail):
    web.post(reverse("strategies:list"), {"name": "Blocks", "template": "builder"})
    version = Strategy.objects.get(owner=trader, name="Blocks").versions.get()
    assert version.builder_state["schema_version"] == 1
    assert version.source.startswith("//@version=6\nstrategy(\"Blocks\"")


def test_an_unknown_template_is_refused(web, trader, in_retail):
    response = web.post(reverse("strategies:list"), {"name": "X", "template": "nope"})
    assert response.status_code == 400
    assert "Unknown template" in response.content.decode()
    assert not Strategy.objects.filter(owner=trader, name="X").exists()


def test_every_template_is_a_strategy_that_compiles():
    from strategies.pine import compile_source

    for template in TEMPLATES.values():
        result = compile_source(template.source)
        assert result.ok and result.declaration.kind == "strategy", template.key


def test_the_list_page_offers_the_templates(web, in_retail):
    page = web.get(reverse("strategies:list")).content.decode()
    for template in TEMPLATES.values():
        assert template.name in page


def test_restoring_an_old_version_makes_it_the_latest_without_losing_history(web, trader, in_retail):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    services.save_version(strategy, GOOD_SOURCE + "\n// v2\n")
    web.post(reverse("strategies:restore", args=[strategy.pk, 1]))
    assert [(v.number, v.source) for v in strategy.versions.order_by("number")] == [
        (1, GOOD_SOURCE), (2, GOOD_SOURCE + "\n// v2\n"), (3, GOOD_SOURCE)]


def test_an_htmx_create_with_errors_returns_the_form_with_the_message_and_200(web, trader, in_retail):
    services.create_strategy(trader, "Taken")
    response = web.post(reverse("strategies:list"), {"name": "Taken", "template": "blank"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only 2xx responses
    assert "You already have a strategy named" in response.content.decode()


def test_an_htmx_create_redirects_to_the_new_editor(web, trader, in_retail):
    response = web.post(reverse("strategies:list"), {"name": "Fresh", "template": "blank"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == Strategy.objects.get(owner=trader, name="Fresh").get_absolute_url()


def test_the_completions_list_has_builtin_functions_with_their_parameters(web, in_retail):
    items = {item["label"]: item for item in web.get(reverse("strategies:completions")).json()["completions"]}
    assert items["ta.ema"]["detail"] == "(source, length) → series float"
    assert items["strategy.entry"]["type"] == "function"
    assert items["close"]["type"] == "variable"
    assert items["strategy.long"]["type"] == "constant"
