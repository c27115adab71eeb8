"""Server → browser pushes over Channels. Pages subscribe to /ws/events/ with htmx's ws extension."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def user_group(schema_name: str, user_id: int) -> str:
    return f"events.{schema_name}.{user_id}"


def push_to_user(schema_name: str, user_id: int, event: str, data: dict | None = None, html: str = "") -> None:
    """Send an event to every open page of one user. `html` (optional) is an htmx out-of-band fragment."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(
        user_group(schema_name, user_id), {"type": "app.event", "event": event, "data": data or {}, "html": html}
    )
