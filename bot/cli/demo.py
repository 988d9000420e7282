"""`careloop demo`: the whole loop on the sandbox, no token and no settings needed."""

from __future__ import annotations

import argparse
import asyncio


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="play the whole loop on a sandbox, no token needed")
    demo.add_argument("--locale", default=None,
                      help="the demo's language: en, ru, zh_Hans or zh_Hant (default en)")
    demo.set_defaults(main=play)


def play(args: argparse.Namespace) -> int:
    # The one import against the layers: the demo's stage (careloop.sandbox) sits above bot,
    # since it composes careloop itself. Here, at the call, so no other command loads it.
    from careloop.sandbox.demo import run_demo

    return asyncio.run(run_demo(locale=args.locale))
