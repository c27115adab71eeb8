"""Health of the moving parts: database, Redis, and the Dramatiq worker (via its heartbeat in Redis)."""

import time

import redis
from django.conf import settings
from django.db import connection

WORKER_HEARTBEAT_MAX_AGE_S = 60


def heartbeat_key() -> str:
    """Per Dramatiq namespace, so several deployments can share one Redis."""
    return f"{settings.DRAMATIQ_NAMESPACE}:worker:heartbeat"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def record_worker_heartbeat(client: redis.Redis | None = None) -> float:
    now = time.time()
    (client or redis_client()).set(heartbeat_key(), repr(now), ex=WORKER_HEARTBEAT_MAX_AGE_S * 10)
    return now


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
        return {"ok": True, "detail": version.split(" on ")[0]}
    except Exception as error:
        return {"ok": False, "detail": f"{type(error).__name__}: {error}"}


def check_redis() -> dict:
    try:
        info = redis_client().info("server")
        return {"ok": True, "detail": f"Redis {info.get('redis_version')}"}
    except Exception as error:
        return {"ok": False, "detail": f"{type(error).__name__}: {error}"}


def check_worker() -> dict:
    try:
        raw = redis_client().get(heartbeat_key())
    except Exception as error:
        return {"ok": False, "detail": f"heartbeat unreadable: {error}"}
    if raw is None:
        return {"ok": False, "detail": "no heartbeat yet: is the Dramatiq worker and scheduler running?"}
    age = time.time() - float(raw)
    return {"ok": age <= WORKER_HEARTBEAT_MAX_AGE_S, "detail": f"last heartbeat {age:.0f} s ago", "age_s": age}


def health_report() -> dict:
    checks = {"database": check_database(), "redis": check_redis(), "worker": check_worker()}
    return {"ok": all(check["ok"] for check in checks.values()), "checks": checks}
