"""A generated photo (the digest's chart) kept in the outbox: it comes back a photo after a
restart, and a message stored before photos existed comes back a document."""

from __future__ import annotations

from careloop.bot.outbox.outbound import decode, encode
from careloop.kernel.effects import Send
from careloop.kernel.updates import Upload


def test_a_stored_photo_upload_comes_back_a_photo() -> None:
    send = Send(-100, "Last 12 weeks", upload=Upload("digest-2026-W47.png", b"\x89PNG", "photo"))
    assert decode(encode(send)) == send


def test_an_upload_stored_before_photos_is_a_document() -> None:
    stored = encode(Send(5, "Your data", upload=Upload("my-data.json", b"{}")))
    stored["upload"] = stored["upload"][:2]  # the two-item form written before
    upload = decode(stored).upload
    assert upload is not None and (upload.kind, upload.data) == ("document", b"{}")
