"""Complaint photos: checked by content, re-encoded without metadata, stored outside the
web root under random names.

`clean_image` is pure (bytes in, JPEG bytes out); `store_photos`, `discard` and
`photo_path` are the small Flask-facing part that knows the upload folder.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import secrets
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain import DomainError

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000          # a 48 MP phone photo is refused, a 40 MP one passes
MAX_SIDE = 2048                  # stored photos are downscaled to fit this box
THUMB_SIDE = 320                 # the case pages' thumbnails fit this box
JPEG_QUALITY = 85
THUMB_QUALITY = 75
FORMATS = ("JPEG", "PNG", "WEBP")
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")
THUMB_SUFFIX = ".thumb.jpg"

log = logging.getLogger(__name__)

# Pillow refuses images over twice this outright; between once and twice it only warns,
# which clean_image turns into an error. Lowered for the whole process on purpose.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class UploadError(DomainError):
    """A photo was refused; `code` says why (too_large, not_image, too_many_pixels, too_many)."""


@dataclass(frozen=True)
class CleanImage:
    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True)
class StoredPhoto:
    """A photo written to the upload folder: what its ComplaintPhoto row records."""

    stored_name: str
    width: int
    height: int
    size_bytes: int


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    if image.width * image.height > MAX_PIXELS:  # also when the warning filter is not in force
        image.close()
        raise UploadError("too_many_pixels")
    return image


def clean_image(data: bytes) -> CleanImage:
    """Check that `data` is a real JPEG/PNG/WebP photo and return it re-encoded as a JPEG
    of at most MAX_SIDE pixels a side, turned upright, with no EXIF, GPS, XMP or ICC data."""
    if len(data) > MAX_PHOTO_BYTES:
        raise UploadError("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open(data) as probe:
                probe.verify()
            with _open(data) as image:  # verify() leaves the image unusable: open again
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = _to_rgb(upright)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise UploadError("too_many_pixels") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError,
            IndexError, KeyError, MemoryError) as err:
        raise UploadError("not_image") from err
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image carries no info dict at all: nothing of the original's metadata can leak.
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanImage(out.getvalue(), clean.width, clean.height)


def make_thumbnail(jpeg: bytes) -> bytes:
    """A small JPEG of a stored (already cleaned) photo, fitting THUMB_SIDE, with no metadata."""
    with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
        image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # decode at a fraction of the size: cheap
        rgb = image.convert("RGB")
    rgb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The size make_thumbnail gives a photo of width × height (for the img tag)."""
    scale = min(1.0, THUMB_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def read_limited(stream: IO[bytes], limit: int = MAX_PHOTO_BYTES) -> bytes:
    """At most limit + 1 bytes: enough to tell that a file is too large without reading it all."""
    return stream.read(limit + 1)


# --- the Flask-facing part ----------------------------------------------------------------

def upload_folder() -> str:
    from flask import current_app

    return current_app.config["UPLOAD_FOLDER"]


def chosen_files(files: Iterable[Any]) -> list[Any]:
    """The file inputs the shopper actually filled in (an empty input still posts a part)."""
    return [f for f in files if f is not None and bool(getattr(f, "filename", None))]


def store_photos(files: Iterable[Any]) -> list[StoredPhoto]:
    """Check and re-encode every photo, then write them, for filing.record_complaint.
    Nothing is written unless every photo passes."""
    chosen = chosen_files(files)
    if len(chosen) > MAX_PHOTOS:
        raise UploadError("too_many")
    if not chosen:
        return []
    cleaned = [clean_image(read_limited(f.stream)) for f in chosen]
    folder = upload_folder()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    stored: list[StoredPhoto] = []
    try:
        for image in cleaned:
            name = secrets.token_hex(16) + ".jpg"
            _write_atomically(folder, name, image.jpeg)
            stored.append(StoredPhoto(name, image.width, image.height, len(image.jpeg)))
    except BaseException:
        discard(stored)
        raise
    return stored


def _write_atomically(folder: str, name: str, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename into place: a
    crash leaves either no file or the whole file, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def discard(stored: Iterable[StoredPhoto]) -> None:
    """Delete photos written for a complaint that was not recorded (no orphan files)."""
    for photo in stored:
        remove_photo_files(photo.stored_name)


def remove_photo_files(stored_name: str) -> None:
    """Delete a stored photo and its thumbnail, whichever exist."""
    path = photo_path(stored_name)
    if path is None:
        return
    for name in (path, _thumb_of(path)):
        with contextlib.suppress(FileNotFoundError):  # already gone (or never made): nothing to do
            os.unlink(name)


def _thumb_of(path: str) -> str:
    return path.removesuffix(".jpg") + THUMB_SUFFIX


def thumbnail_path(stored_name: str) -> str | None:
    """The thumbnail file of a stored photo, made on first use and kept beside it; None when
    the photo's name is not one of ours or its file is gone."""
    path = photo_path(stored_name)
    if path is None:
        return None
    thumb = _thumb_of(path)
    if os.path.isfile(thumb):
        return thumb
    try:
        with open(path, "rb") as fh:
            data = make_thumbnail(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, SyntaxError):  # a damaged file on disk: no thumbnail, said once here
        log.warning("the stored photo %s cannot be read for a thumbnail", stored_name, exc_info=True)
        return None
    # Two first views at once both write it: the rename makes either whole copy win.
    _write_atomically(os.path.dirname(thumb), os.path.basename(thumb), data)
    return thumb


def photo_path(stored_name: str) -> str | None:
    """The file of a stored photo; None for a name this module could not have made."""
    if not _STORED_NAME.match(stored_name):
        return None
    return os.path.join(upload_folder(), stored_name)


def orphan_files(folder: str, known: set[str], older_than_seconds: float = 3600,
                 now: float | None = None) -> list[str]:
    """Files in `folder` that no photo row names (a worker killed between writing a photo
    and committing its complaint, a leftover temporary file, the thumbnail of a photo no
    longer recorded), older than the given age.

    A periodic job deletes them; the age keeps it from racing a submission in progress.
    """
    now = time.time() if now is None else now
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.is_file() or entry.name in known:
            continue
        if entry.name.endswith(THUMB_SUFFIX) and entry.name.removesuffix(THUMB_SUFFIX) + ".jpg" in known:
            continue  # the thumbnail of a recorded photo
        if now - entry.stat().st_mtime >= older_than_seconds:
            found.append(entry.path)
    return found


def remove_orphans(older_than_seconds: float = 3600) -> int:
    """Delete the upload folder's files that no photo row names; returns how many.
    For a periodic job (e.g. a `flask` command run by cron next to the outbox delivery)."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import ComplaintPhoto

    known = set(db.session.scalars(select(ComplaintPhoto.stored_name)))
    removed = 0
    for path in orphan_files(upload_folder(), known, older_than_seconds):
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed
