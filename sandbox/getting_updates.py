"""Bot API getting updates: getUpdates long polling, and webhooks."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from careloop.sandbox.errors import ApiError, bad_request
from careloop.sandbox.objects import Answer, Webhook
from careloop.sandbox.spec import ValidatedCall
from careloop.sandbox.state import WorldState

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class UpdateMethods(WorldState):
    """getUpdates, setWebhook, deleteWebhook and getWebhookInfo."""

    async def get_updates(self, call: ValidatedCall) -> list[dict[str, Any]]:
        """Long polling: wait up to ``timeout`` seconds for updates after ``offset``."""
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        if "offset" in call.params:
            self.updates.confirm(call.params["offset"])
        self.updates.set_allowed(call.get("allowed_updates"))
        limit = call.get("limit", 100)
        deadline = asyncio.get_running_loop().time() + max(0, call.get("timeout", 0))
        self.pollers += 1
        self.notify()  # wakes an earlier poller, which then ends with a conflict
        try:
            while True:
                if self.webhook is not None:
                    raise ApiError(409, WEBHOOK_CONFLICT)
                if generation != self._poll_generation:
                    raise ApiError(409, POLL_CONFLICT)
                remaining = deadline - asyncio.get_running_loop().time()
                if self.updates.items or remaining <= 0 or self.closed:
                    return self.updates.take(limit)
                await self.changed(remaining)
        finally:
            self.pollers -= 1
            self.notify()

    def _set_webhook(self, call: ValidatedCall) -> Answer:
        url = call.params["url"]
        if call.get("drop_pending_updates"):
            self.updates.drop_all()
        self.updates.set_allowed(call.get("allowed_updates"))
        if not url:
            return self._delete_webhook(call)
        _check_webhook_url(url)
        self.webhook = Webhook(
            url=url,
            secret_token=call.get("secret_token"),
            max_connections=call.get("max_connections", 40),
            ip_address=call.get("ip_address"),
        )
        return Answer(True, "Webhook was set")

    def _delete_webhook(self, call: ValidatedCall) -> Answer:
        if call.get("drop_pending_updates"):
            self.updates.drop_all()
        if self.webhook is None:
            return Answer(True, "Webhook is already deleted")
        self.webhook = None
        return Answer(True, "Webhook was deleted")

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates.items),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.ip_address:
                info["ip_address"] = self.webhook.ip_address
            if self.webhook.last_error_date is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        if self.updates.allowed is not None:
            info["allowed_updates"] = sorted(self.updates.allowed)
        return info


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    if parts.scheme not in ("http", "https") or not host:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if loopback:
        return  # the sandbox delivers to the bot on this machine, plain HTTP allowed
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
