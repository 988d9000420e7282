"""`careloop webhooks`: the URLs other systems are told of events at, and how their
deliveries stand."""

from __future__ import annotations

import argparse
import json

from yarl import URL

from careloop.bot.cli.console import FORMAT_HELP, CliError, Console, handles
from careloop.bot.outbox.signing import new_secret
from careloop.storage.models import WebhookEndpoint
from careloop.storage.webhook_events import EVENTS, PERSONAL_FIELDS

MAX_URL = 2000


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hooks = sub.add_parser("webhooks", help="tell other systems of events (outgoing webhooks)")
    wh_sub = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    add = wh_sub.add_parser("add", help="register a URL; prints its signing secret once")
    add.add_argument("url", metavar="URL",
                     help="the http:// or https:// address that receives the events' POSTs")
    add.add_argument("--events", required=True, metavar="LIST",
                     help=f"comma-separated: {','.join(EVENTS)}, or all")
    add.add_argument("--fields", default="", metavar="LIST",
                     help="personal data to include besides the ids, "
                     f"comma-separated: {','.join(PERSONAL_FIELDS)} (default: none)")
    handles(add, cmd_add)
    ls = wh_sub.add_parser("list", help="the registered URLs")
    ls.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    handles(ls, cmd_list)
    rm = wh_sub.add_parser("remove", help="unregister a URL and drop its deliveries")
    rm.add_argument("id", type=int, metavar="ENDPOINT_ID",
                    help="the endpoint's number, as `webhooks list` shows it")
    handles(rm, cmd_remove)
    st = wh_sub.add_parser("status", help="deliveries pending, delivered and dead per URL")
    st.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    handles(st, cmd_status)


def _list(value: str, allowed: tuple[str, ...], option: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if names == ["all"] and option == "--events":
        return list(allowed)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise CliError(f"{option}: unknown {unknown[0]!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def check_url(value: str) -> str:
    try:
        url = URL(value)
    except (ValueError, TypeError):
        url = None
    if (url is None or url.scheme not in ("http", "https") or not url.host
            or len(value) > MAX_URL or any(c.isspace() for c in value)):
        raise CliError(f"URL: {value!r} must be an http:// or https:// address with a host")
    return value


async def cmd_add(args: argparse.Namespace, console: Console) -> int:
    url = check_url(args.url)
    events = _list(args.events, EVENTS, "--events")
    if not events:
        raise CliError("--events: name at least one event")
    fields = _list(args.fields, PERSONAL_FIELDS, "--fields")
    secret = new_secret()
    async with console.storage.uow() as uow:
        endpoint = await uow.webhooks.add_endpoint(WebhookEndpoint(
            url=url, secret=secret, events=events, fields=fields, created_at=console.now()))
        await uow.commit()
    print(f"webhook {endpoint.id} added: {url}")
    print(f"events: {', '.join(events)}")
    print(f"personal fields: {', '.join(fields) or 'none'}")
    print(f"signing secret (shown only now; keep it with the receiver): {secret}")
    return 0


async def cmd_list(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        endpoints = await uow.webhooks.endpoints()
    if args.format == "json":
        print(json.dumps([{"id": e.id, "url": e.url, "events": e.events, "fields": e.fields,
                           "created_at": e.created_at.isoformat()} for e in endpoints],
                         ensure_ascii=False, indent=2))
        return 0
    if not endpoints:
        print("no webhooks")
    for e in endpoints:
        print(f"{e.id}  {e.url}  events: {','.join(e.events)}  "
              f"fields: {','.join(e.fields) or 'none'}")
    return 0


async def cmd_remove(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        if not await uow.webhooks.remove_endpoint(args.id):
            raise CliError(f"no webhook with id {args.id}")
        await uow.commit()
    print(f"webhook {args.id} removed")
    return 0


async def cmd_status(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        statuses = await uow.webhooks.status()
    if args.format == "json":
        print(json.dumps([{"id": s.endpoint.id, "url": s.endpoint.url, **s.counts,
                           "last_error": s.last_error} for s in statuses],
                         ensure_ascii=False, indent=2))
        return 0
    if not statuses:
        print("no webhooks")
    for s in statuses:
        n = s.counts
        # A delivery being sent right now is still pending to the operator.
        print(f"{s.endpoint.id}  {s.endpoint.url}  pending {n['pending'] + n['sending']}  "
              f"delivered {n['delivered']}  dead {n['dead']}"
              + (f"  last error: {s.last_error}" if s.last_error else ""))
    return 0
