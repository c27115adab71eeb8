import pytest

pytestmark = pytest.mark.django_db


def test_the_manifest_has_the_fields_an_installable_app_needs(client_on, retail_tenant):
    response = client_on(retail_tenant).get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["display"] == "standalone" and manifest["start_url"].startswith("/")
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"] and manifest["background_color"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])


def test_every_manifest_icon_is_served_with_its_declared_size(client_on, retail_tenant):
    from io import BytesIO

    from django.contrib.staticfiles import finders
    from PIL import Image

    manifest = client_on(retail_tenant).get("/manifest.webmanifest").json()
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with open(path, "rb") as handle:
            width, height = Image.open(BytesIO(handle.read())).size
        assert f"{width}x{height}" == icon["sizes"]


def test_the_service_worker_is_served_from_the_root_scope_and_never_caches_pages(client_on, retail_tenant):
    response = client_on(retail_tenant).get("/sw.js")
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    script = response.content.decode()
    assert "/static/css/app.css" in script and "/offline/" in script
    assert 'request.mode === "navigate"' in script


def test_the_offline_page_works_without_login(client_on, retail_tenant):
    response = client_on(retail_tenant).get("/offline/")
    assert response.status_code == 200
    assert "You are offline" in response.content.decode()
