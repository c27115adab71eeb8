from fourpass.tasks import platform_actor

from . import push


@platform_actor(max_retries=3, min_backoff=2_000, actor_name="deliver_push")
def deliver_push(subscription_id: int, payload: str) -> None:
    push.deliver(subscription_id, payload)
