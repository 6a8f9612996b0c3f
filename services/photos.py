"""Evidence photos: type checked by content, size limited, stored under server-chosen names."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from services.actors import Actor
from services.errors import Conflict, Invalid, NotFound
from services.hazards.service import get_hazard
from services.models import Photo
from services.settings import get_settings

# Magic numbers of the accepted formats: the client's file name and content type are ignored.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff(data: bytes) -> tuple[str, str]:
    for magic, content_type, ext in _SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    raise Invalid(["body", "file"], "is not a JPEG, PNG or WebP image")


class PhotoStorage(Protocol):
    """Where photo bytes live; local disk by default, object storage can implement the same."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class LocalPhotoStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the photo folder")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a reader never sees half a photo

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def default_storage() -> PhotoStorage:
    return LocalPhotoStorage(get_settings().data_dir / "photos")


def store_photo(
    session: Session,
    actor: Actor,
    *,
    hazard_id: uuid.UUID,
    photo_id: uuid.UUID,
    data: bytes,
    storage: PhotoStorage | None = None,
) -> tuple[Photo, bool]:
    """Store an evidence photo for a hazard; returns (photo, created)."""
    hazard = get_hazard(session, actor, hazard_id)
    limit = get_settings().photo_max_bytes
    if len(data) > limit:
        raise Invalid(["body", "file"], f"is larger than {limit} bytes")
    if not data:
        raise Invalid(["body", "file"], "is empty")
    digest = hashlib.sha256(data).hexdigest()
    existing = session.get(Photo, photo_id)
    storage = storage or default_storage()
    if existing is not None:
        if existing.hazard_id != hazard.id or existing.sha256 != digest:
            raise Conflict("photo with this id already exists with different content")
        if not storage.exists(existing.storage_key):  # its file was lost: the retry restores it
            storage.put(existing.storage_key, data)
        return existing, False
    content_type, ext = sniff(data)
    key = f"{hazard.id}/{photo_id}.{ext}"  # never a client-supplied name
    storage.put(key, data)
    photo = Photo(
        id=photo_id,
        hazard_id=hazard.id,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        storage_key=key,
        uploaded_by=actor.user_id,
    )
    session.add(photo)
    session.flush()
    return photo, True


def get_photo(
    session: Session, actor: Actor, *, hazard_id: uuid.UUID, photo_id: uuid.UUID
) -> Photo:
    get_hazard(session, actor, hazard_id)
    photo = session.get(Photo, photo_id)
    if photo is None or photo.hazard_id != hazard_id:
        raise NotFound("photo", photo_id)
    return photo


def read_photo(photo: Photo, storage: PhotoStorage | None = None) -> bytes:
    """The photo's bytes; NotFound when its record is there but its file is not (a volume lost
    or not shared between API instances): a 500 before. Uploading it again restores it."""
    try:
        return (storage or default_storage()).get(photo.storage_key)
    except FileNotFoundError:
        raise NotFound("photo file", photo.id) from None
