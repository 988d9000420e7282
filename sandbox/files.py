"""Bot API files: uploads, file ids and URLs the bot sends, and getFile."""

from __future__ import annotations

import mimetypes
from typing import Any

from careloop.sandbox.errors import bad_request
from careloop.sandbox.objects import StoredFile
from careloop.sandbox.spec import UploadedFile, ValidatedCall
from careloop.sandbox.state import WorldState


class FileMethods(WorldState):
    """Files the bot sends or fetches; every file is kept with its bytes, by id and path."""

    def _input_file(self, value: UploadedFile | str, kind: str) -> StoredFile:
        if isinstance(value, UploadedFile):
            mime = value.content_type
            if mime in ("", "application/octet-stream"):
                mime = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
            return self._store_file(kind, data=value.data, file_name=value.filename, mime_type=mime)
        if value.startswith(("http://", "https://")):
            # Telegram would download it; the sandbox records the URL as an empty file.
            name = value.rsplit("/", 1)[-1] or None
            return self._store_file(kind, data=None, file_name=name, mime_type=None)
        stored = self.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _store_file(
        self, kind: str, *, data: bytes | None, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        number = next(self._file_ids)
        folder = "photos" if kind == "photo" else "documents"
        extension = (
            ".jpg" if kind == "photo" else "." + (file_name or "file.bin").rsplit(".", 1)[-1]
        )
        stored = StoredFile(
            file_id=f"SBX{kind[:3].upper()}{number:08d}AgAD",
            file_unique_id=f"SBXU{number:08d}",
            kind=kind,
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            file_name=file_name if kind == "document" else None,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    def _get_file(self, call: ValidatedCall) -> dict[str, Any]:
        stored = self.files.get(call.params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }


def photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    # Telegram returns several sizes; two are enough to exercise "take the largest".
    return [
        {"file_id": f"{stored.file_id}s", "file_unique_id": f"{stored.file_unique_id}s",
         "width": 90, "height": 67, "file_size": min(stored.size, 1024)},
        {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
         "width": 800, "height": 600, "file_size": stored.size},
    ]  # fmt: skip


def document(stored: StoredFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        data["file_name"] = stored.file_name
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    return data
