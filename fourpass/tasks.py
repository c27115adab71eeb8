"""Dramatiq set-up. Import this module before declaring actors: it installs the broker.

Every process (web, worker, scheduler) uses the Redis broker; only unit tests that say so swap in
dramatiq's StubBroker by setting DRAMATIQ_BROKER=stub.
"""

import functools

import dramatiq
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit


def _make_broker() -> dramatiq.Broker:
    middleware = [AgeLimit(), TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines(), Retries()]
    if settings.DRAMATIQ_BROKER == "stub":
        return StubBroker(middleware=middleware)
    return RedisBroker(url=settings.REDIS_URL, namespace=settings.DRAMATIQ_NAMESPACE, middleware=middleware)


broker = _make_broker()
dramatiq.set_broker(broker)


def tenant_actor(fn=None, **options):
    """A Dramatiq actor whose first argument is a tenant schema name; the body runs inside that schema.

    Messages carry the schema explicitly because a worker serves every tenant.
    """

    def decorate(func):
        @functools.wraps(func)
        def run_in_schema(schema_name: str, *args, **kwargs):
            from django.db import close_old_connections
            from django_tenants.utils import schema_context

            close_old_connections()
            try:
                with schema_context(schema_name):
                    return func(*args, **kwargs)
            finally:
                close_old_connections()

        return dramatiq.actor(run_in_schema, actor_name=options.pop("actor_name", func.__qualname__), **options)

    return decorate(fn) if fn is not None else decorate


def platform_actor(fn=None, **options):
    """A Dramatiq actor that runs on the public schema, with fresh DB connections around each message."""

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            from django.db import close_old_connections

            close_old_connections()
            try:
                return func(*args, **kwargs)
            finally:
                close_old_connections()

        return dramatiq.actor(run, actor_name=options.pop("actor_name", func.__qualname__), **options)

    return decorate(fn) if fn is not None else decorate
