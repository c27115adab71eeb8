"""The strategies API: versions (code or builder blocks), compile and builder generation."""

from strategies.builder import default_state
from tests.strategies.factories import BROKEN_SOURCE, GOOD_SOURCE, make_strategy


def test_posting_source_creates_a_version(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(f"/api/strategies/{strategy.pk}/versions/", {"source": GOOD_SOURCE}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["number"] == 1
    assert [v["number"] for v in web.get(f"/api/strategies/{strategy.pk}/versions/").json()] == [1]


def test_posting_source_with_errors_returns_the_diagnostics_and_stores_nothing(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(f"/api/strategies/{strategy.pk}/versions/", {"source": BROKEN_SOURCE},
                        content_type="application/json")
    assert response.status_code == 400
    assert response.json()["diagnostics"][0]["line"] == 7
    assert not strategy.versions.exists()


def test_posting_builder_blocks_creates_a_builder_version(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(f"/api/strategies/{strategy.pk}/versions/", {"builder_state": default_state()},
                        content_type="application/json")
    assert response.status_code == 201
    assert response.json()["builder_state"]["schema_version"] == 1


def test_posting_both_source_and_blocks_is_refused(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(f"/api/strategies/{strategy.pk}/versions/",
                        {"builder_state": default_state(), "source": GOOD_SOURCE}, content_type="application/json")
    assert response.status_code == 400


def test_compile_returns_diagnostics_without_saving(web, in_retail):
    response = web.post("/api/strategies/compile/", {"source": BROKEN_SOURCE}, content_type="application/json")
    assert response.json()["ok"] is False


def test_builder_generate_returns_pine_or_the_errors(web, in_retail):
    ok = web.post("/api/strategies/builder/generate/", {"builder_state": default_state()}, content_type="application/json")
    assert ok.json()["source"].startswith("//@version=6")
    bad = web.post("/api/strategies/builder/generate/", {"builder_state": {"schema_version": 1}},
                   content_type="application/json")
    assert bad.status_code == 400
    assert "(state): 'title' is a required property" in bad.json()["builder_state"]
