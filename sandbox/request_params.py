"""A Bot API request's parameters: the query string and the body merged, whatever the body's
encoding (Telegram accepts JSON, url-encoded and multipart bodies alike)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from careloop.sandbox.errors import ApiError
from careloop.sandbox.spec import UploadedFile


async def read_params(request: web.Request) -> tuple[dict[str, Any], ApiError | None]:
    """The parameters, and the reason the body could not be read if it could not."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params, None
    try:
        if request.content_type == "application/json":
            params.update(await _json_body(request))
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(await _form_body(request))
    except ApiError as error:
        return params, error
    return params, None


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: can't parse JSON object")
    return body


async def _form_body(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    values: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            values[key] = UploadedFile(
                filename=value.filename, content_type=value.content_type, data=value.file.read()
            )
        else:
            values[key] = value
    # aiogram names upload parts randomly and refers to them as "attach://<name>".
    for key, value in list(values.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = values.get(value.removeprefix("attach://"))
            if isinstance(part, UploadedFile):
                values[key] = part
    return values
