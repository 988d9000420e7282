"""Starting either runtime's webhook: where it listens and what Telegram said of its URL, each
as one line naming the setting to change."""

from __future__ import annotations

import errno

from aiohttp import web

from careloop.bot.settings import ConfigError
from careloop.kernel import messenger as port


async def listen_on(runner: web.AppRunner, listen: str) -> None:
    """Serve `runner` on `listen` (HOST:PORT, checked by the settings); a taken port or an
    address this machine does not have is CARELOOP_WEBHOOK_LISTEN's fault, not a crash."""
    host, _, port_ = listen.rpartition(":")
    try:
        await web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port_)).start()
    except OSError as exc:
        # asyncio words it "error while attempting to bind on address (...): <reason>".
        reason = str(exc.strerror or exc).rpartition(": ")[2]
        if exc.errno == errno.EADDRINUSE:
            reason += "; stop what uses it or choose another port"
        raise ConfigError(f"CARELOOP_WEBHOOK_LISTEN: cannot listen on {listen}: {reason}"
                          ) from None


def webhook_refused(error: port.MessengerError) -> Exception:
    """What to raise when setWebhook failed: a URL Telegram refuses (not HTTPS, a port it does
    not post to, a host it cannot resolve) is CARELOOP_WEBHOOK_URL's fault; anything else
    (no answer, a refused token) is Telegram's trouble, as on any other call."""
    if isinstance(error, port.BadRequest):
        return ConfigError(f"CARELOOP_WEBHOOK_URL: Telegram refused it: {error}")
    return error
