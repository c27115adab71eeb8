"""Web Push for fills, rejections, deployment stops and disconnects (services; delivery runs in an actor)."""

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from pywebpush import WebPushException, webpush

from .models import NotificationEvent, NotificationPreference, PushSubscription, User

logger = logging.getLogger(__name__)

GONE_STATUSES = {404, 410}


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    url: str = "/"
    tag: str = ""

    def payload(self) -> str:
        return json.dumps({"title": self.title, "body": self.body, "url": self.url, "tag": self.tag})


def save_subscription(user: User, subscription: dict, user_agent: str = "") -> PushSubscription:
    """Store (or move to `user`) the subscription a browser's PushManager returned."""
    try:
        endpoint = subscription["endpoint"]
        keys = subscription["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
    except (KeyError, TypeError) as missing:
        raise ValidationError(f"The push subscription is missing {missing}.") from missing
    if not str(endpoint).startswith("https://") and not settings.PUSH_ALLOW_INSECURE_ENDPOINTS:
        raise ValidationError("Push endpoints must use https.")
    saved, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"user": user, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:300], "failure_count": 0},
    )
    return saved


def remove_subscription(user: User, endpoint: str) -> int:
    return PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()[0]


def set_preference(user: User, event: str, push_enabled: bool) -> NotificationPreference:
    if event not in NotificationEvent.values:
        raise ValidationError(f"Unknown notification event '{event}'.")
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, event=event, defaults={"push_enabled": push_enabled}
    )
    return preference


def wants_push(user_id: int, event: str) -> bool:
    return not NotificationPreference.objects.filter(user_id=user_id, event=event, push_enabled=False).exists()


def notify(user_id: int, event: str, message: PushMessage) -> int:
    """Queue a push to every device of the user, unless they opted out of `event`. Returns devices queued."""
    if not wants_push(user_id, event):
        return 0
    from .actors import deliver_push

    ids = list(PushSubscription.objects.filter(user_id=user_id).values_list("pk", flat=True))
    for subscription_id in ids:
        deliver_push.send(subscription_id, message.payload())
    return len(ids)


def deliver(subscription_id: int, payload: str) -> str:
    """Encrypt and send one push. A 404/410 from the push service means the device is gone: forget it."""
    subscription = PushSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return "missing"
    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    try:
        webpush(
            subscription_info=info,
            data=payload,
            vapid_private_key=settings.VAPID_PRIVATE_KEY,
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=settings.PUSH_TTL_SECONDS,
            timeout=10,
        )
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in GONE_STATUSES:
            subscription.delete()
            return "removed"
        PushSubscription.objects.filter(pk=subscription.pk).update(failure_count=F("failure_count") + 1)
        logger.warning("push to subscription %s failed with %s", subscription.pk, status)
        raise
    PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=timezone.now(), failure_count=0)
    return "sent"
