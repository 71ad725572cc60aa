"""Who gets what: the kinds of message a family chooses channels for, and whether a client wants
a kind on a channel (the provider's switches first, then the family's own choice)."""

from __future__ import annotations

from widget_server.core.models import Client

# The kinds of message a family chooses channels for, in the order the page lists them.
KINDS = ("reminders", "makeup_offers", "class_offers", "payment_notices", "progress", "news")
CHANNELS = ("email", "whatsapp")
OPT_IN_ONLY = ("news",)  # off until the client turns it on


def preferences(client: Client) -> dict[str, dict[str, bool]]:
    """Per kind of message, whether it goes by e-mail and by WhatsApp.

    The provider's notify_email / notify_whatsapp switch a channel off as a whole; until the
    client chooses, every kind but news follows them."""
    saved = client.notifications or {}
    chosen: dict[str, dict[str, bool]] = {}
    for kind in KINDS:
        default = kind not in OPT_IN_ONLY
        own = saved.get(kind) or {}
        chosen[kind] = {
            "email": bool(client.notify_email and own.get("email", default)),
            "whatsapp": bool(client.notify_whatsapp and own.get("whatsapp", default)),
        }
    return chosen


def wants(client: Client, kind: str, channel: str = "email") -> bool:
    """Whether the client wants messages of `kind` on `channel` (unknown kinds: the channel's
    overall setting)."""
    if kind not in KINDS:
        return bool(client.notify_email if channel == "email" else client.notify_whatsapp)
    return preferences(client)[kind][channel]
