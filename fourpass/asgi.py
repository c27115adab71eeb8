import asyncio
import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from webhooks.hook_view import HookIntake, start_intake  # noqa: E402

from .consumers import EventsConsumer  # noqa: E402


class TenantFromHostMiddleware:
    """Set scope['schema_name'] from the Host header, so sessions and users resolve in the right tenant."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").split(":")[0]
        scope = dict(scope, schema_name=await _schema_for_host(host))
        return await self.inner(scope, receive, send)


@database_sync_to_async
def _schema_for_host(host: str) -> str | None:
    from .tenancy import tenant_for_host

    tenant = tenant_for_host(host)
    return tenant.schema_name if tenant else None


async def lifespan(scope, receive, send):
    """Server start-up (uvicorn's lifespan protocol): the alert intake is warmed before the first request."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await asyncio.to_thread(start_intake)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


websocket_urlpatterns = [path("ws/events/", EventsConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": HookIntake(django_asgi_app),
        "lifespan": lifespan,
        "websocket": AllowedHostsOriginValidator(
            TenantFromHostMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Everything loaded so far (Django, every app, its models and these routes) lives as long as the process. Moving
# it out of the collector's reach keeps a full collection short: otherwise each one walks every object Django has
# loaded (88 ms here), and that pause lands on whichever alerts are waiting for their reply.
gc.freeze()
