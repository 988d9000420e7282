"""Run a standalone sandbox: ``python -m careloop.sandbox --port 8090 --user Alice``.

Prints the base URL and the sandbox's made-up token to point a bot at, then echoes what the bot
sends until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from careloop.sandbox.server import DEFAULT_TOKEN, Sandbox

DEFAULT_PORT = 8090


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m careloop.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    # Not 8081, where `careloop run` serves its HTTP API by default (CARELOOP_API_LISTEN).
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to listen on (default: {DEFAULT_PORT})")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the token the bot must use")
    parser.add_argument("--username", default="careloop_sandbox_bot")
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--user", action="append", default=[], help="create a user (repeatable)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    sandbox = Sandbox(
        token=args.token, bot_username=args.username, rate_limits=not args.no_rate_limits
    )
    base_url = await sandbox.start(args.host, args.port)
    try:
        # The sandbox token is a fixture value, not a credential: the operator needs to see it.
        print(f"Sandbox Bot API at {base_url}  (token {sandbox.token})")
        for name in args.user:
            user = sandbox.add_user(name)
            print(f"user {user.first_name}: id {user.id}")
        await echo_bot_messages(sandbox)
    finally:
        await sandbox.stop()


async def echo_bot_messages(sandbox: Sandbox) -> None:
    shown: set[tuple[int, int]] = set()
    while True:
        for chat_id in list(sandbox.world.chats):
            for message in sandbox.bot_messages(chat_id):
                if (chat_id, message.message_id) not in shown:
                    shown.add((chat_id, message.message_id))
                    print(f"bot -> {chat_id}: {message.content}  {message.buttons or ''}")
        await sandbox.world.changed(None)


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
