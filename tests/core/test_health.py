import pytest

from fourpass.health import heartbeat_key, record_worker_heartbeat, redis_client

pytestmark = pytest.mark.django_db


def test_health_reports_database_redis_and_a_fresh_worker_heartbeat(client):
    record_worker_heartbeat()
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and "PostgreSQL" in checks["database"]["detail"]
    assert checks["redis"]["ok"] and "Redis" in checks["redis"]["detail"]
    assert checks["worker"]["ok"]


def test_health_is_503_and_says_why_when_the_worker_never_beat(client):
    redis_client().delete(heartbeat_key())
    response = client.get("/health/", HTTP_HOST="no-such-tenant.localhost")
    assert response.status_code == 503
    assert "no heartbeat yet" in response.content.decode()
