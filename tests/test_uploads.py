"""Complaint photos: checked by content, re-encoded without EXIF or
GPS, stored under random names outside the web root, served only to those who may see them."""

from __future__ import annotations

import io
import os
import re
import struct
import uuid
import zlib
from typing import Any

import pytest
from flask import has_request_context
from PIL import Image
from sqlalchemy.exc import OperationalError

from pledge_registry.complaints import uploads, workflow
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, ComplaintPhoto
from tests.factories import make_merchant, make_user
from tests.helpers import (
    GPS_IFD,
    complain_url,
    complaint_data,
    complaints,
    csrf_token,
    english_browser,
    file_complaint,
    filed,
    jpeg_bytes,
    jpeg_upload,
    login,
    missing_id,
    track,
)

pytestmark = pytest.mark.usefixtures("english")


def image_bytes(fmt: str, size: tuple[int, int] = (50, 40), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (0, 128, 0, 128) if mode == "RGBA" else 0).save(out, format=fmt)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A one-colour 1-bit PNG: tiny on disk, width × height pixels once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    block = row * 1000
    idat = b"".join(packer.compress(block) for _ in range(height // 1000))
    idat += packer.compress(row * (height % 1000)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b"<script>alert(1)</script></svg>")
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def stored_files(app: Any) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# --- the pure part ---------------------------------------------------------------------------


def test_exif_and_gps_are_removed():
    source = jpeg_bytes(gps=True)
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(GPS_IFD), "the fixture carries GPS"
    clean = uploads.clean_image(source)
    result = Image.open(io.BytesIO(clean.jpeg))
    assert result.format == "JPEG"
    assert len(result.getexif()) == 0
    assert "exif" not in result.info and "xmp" not in result.info and "icc_profile" not in result.info
    assert b"Exif" not in clean.jpeg and b"TestCam" not in clean.jpeg


def test_orientation_is_applied_before_the_tags_go():
    clean = uploads.clean_image(jpeg_bytes(size=(40, 20), orientation=6))
    assert (clean.width, clean.height) == (20, 40)


def test_large_photos_are_downscaled():
    clean = uploads.clean_image(jpeg_bytes(size=(3000, 1000)))
    assert (clean.width, clean.height) == (2048, 683)


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGBA"), ("PNG", "L"), ("PNG", "P"), ("WEBP", "RGBA"),
                                           ("JPEG", "CMYK")])
def test_png_webp_and_cmyk_are_accepted(fmt, mode):
    clean = uploads.clean_image(image_bytes(fmt, mode=mode))
    assert Image.open(io.BytesIO(clean.jpeg)).format == "JPEG"
    assert (clean.width, clean.height) == (50, 40)


@pytest.mark.parametrize("data", [HTML, SVG, PDF, b"", b"\xff\xd8\xff\xe0garbage", jpeg_bytes()[:300],
                                  image_bytes("GIF", mode="L"), image_bytes("BMP", mode="RGB"), "日本".encode()],
                         ids=["html", "svg", "pdf", "empty", "fake-jpeg-header", "truncated-jpeg", "gif", "bmp",
                              "text"])
def test_non_photos_are_refused(data):
    with pytest.raises(uploads.UploadError) as err:
        uploads.clean_image(data)
    assert err.value.code == "not_image"


def test_a_polyglot_loses_its_payload():
    clean = uploads.clean_image(jpeg_bytes(trailer=HTML))
    assert b"<script>" not in clean.jpeg


@pytest.mark.parametrize("size", [(20000, 20000), (7000, 7000)], ids=["over-twice-the-cap", "just-over-the-cap"])
def test_decompression_bombs_are_refused(size):
    bomb = png_bomb(*size)
    assert len(bomb) < 200_000
    with pytest.raises(uploads.UploadError) as err:
        uploads.clean_image(bomb)
    assert err.value.code == "too_many_pixels"


def test_oversized_photo_is_refused_before_decoding():
    with pytest.raises(uploads.UploadError) as err:
        uploads.clean_image(b"\xff" * (uploads.MAX_PHOTO_BYTES + 1))
    assert err.value.code == "too_large"


def test_orphan_files_are_found(tmp_path):
    (tmp_path / "kept.jpg").write_bytes(b"x")
    (tmp_path / "orphan.jpg").write_bytes(b"x")
    (tmp_path / ".tmp-abc.part").write_bytes(b"x")
    now = os.path.getmtime(tmp_path / "kept.jpg") + 7200
    found = uploads.orphan_files(str(tmp_path), {"kept.jpg"}, older_than_seconds=3600, now=now)
    assert sorted(os.path.basename(p) for p in found) == [".tmp-abc.part", "orphan.jpg"]
    assert uploads.orphan_files(str(tmp_path), set(), older_than_seconds=3600, now=now - 7000) == []


# --- through the form --------------------------------------------------------------------------


def test_photos_are_stored_clean_under_random_names(client, app):
    merchant = make_merchant()
    c = filed(client, merchant, photos=[jpeg_upload("IMG_0001.jpg", gps=True),
                                        (io.BytesIO(image_bytes("PNG")), "screen.png", "image/png")])
    assert len(c.photos) == 2
    folder = app.config["UPLOAD_FOLDER"]
    static = os.path.realpath(app.static_folder)
    assert not os.path.realpath(folder).startswith(static)
    assert stored_files(app) == sorted(p.stored_name for p in c.photos)
    for photo in c.photos:
        assert len(photo.stored_name) == 36 and photo.stored_name.endswith(".jpg")
        assert "IMG_0001" not in photo.stored_name
        with open(os.path.join(folder, photo.stored_name), "rb") as fh:
            data = fh.read()
        assert photo.size_bytes == len(data)
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and len(image.getexif()) == 0 and b"Exif" not in data
        assert (photo.width, photo.height) == image.size


def test_four_photos_are_refused(client, app):
    merchant = make_merchant()
    photos = [jpeg_upload(f"{i}.jpg") for i in range(4)]
    response = file_complaint(client, merchant, photos=photos)
    assert response.status_code == 400
    assert "Attach at most 3 photos" in response.get_data(as_text=True)
    assert complaints() == [] and stored_files(app) == []


@pytest.mark.parametrize("payload", [HTML, SVG, PDF], ids=["html", "svg", "pdf"])
def test_disguised_files_are_refused_and_nothing_is_written(client, app, payload):
    merchant = make_merchant()
    photos = [jpeg_upload("good.jpg"), (io.BytesIO(payload), "photo.jpg", "image/jpeg")]
    response = file_complaint(client, merchant, photos=photos)
    assert response.status_code == 400
    assert "Only photos (JPEG, PNG or WebP)" in response.get_data(as_text=True)
    assert complaints() == [] and stored_files(app) == []


def test_bomb_through_the_form_is_refused(client, app):
    merchant = make_merchant()
    response = file_complaint(client, merchant, photos=[(io.BytesIO(png_bomb(20000, 20000)), "a.png", "image/png")])
    assert response.status_code == 400
    assert "too many pixels" in response.get_data(as_text=True)
    assert complaints() == [] and stored_files(app) == []


def _multipart(fields: dict[str, str], file_size: int, boundary: str) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="big.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + b"\xff" * file_size + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


@pytest.mark.parametrize(("extra", "status"), [(0, 400), (1, 413)], ids=["exactly-the-cap", "one-byte-over"])
def test_request_size_cap(client, app, extra, status):
    """One byte over MAX_CONTENT_LENGTH → 413 and no record."""
    merchant = make_merchant()
    fields = {**complaint_data(wants=None), "csrf_token": csrf_token(client, complain_url(merchant))}
    boundary = uuid.uuid4().hex
    target = app.config["MAX_CONTENT_LENGTH"] + extra
    body = _multipart(fields, 0, boundary)
    body = _multipart(fields, target - len(body), boundary)
    assert len(body) == target
    response = client.post(complain_url(merchant), data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == status
    assert complaints() == [] and stored_files(app) == []


def test_failed_commit_leaves_no_file(client, app, monkeypatch):
    """No orphan file, no record without its file."""
    merchant = make_merchant()

    real_commit = db.session.commit

    def fail() -> None:
        if not has_request_context():  # the test client's own commit before each request
            return real_commit()
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(db.session, "commit", fail)
    response = file_complaint(client, merchant, photos=[jpeg_upload()])
    monkeypatch.undo()
    assert response.status_code == 500
    assert complaints() == [] and stored_files(app) == []


def test_a_retry_keeps_only_the_first_photos(client, app, monkeypatch):
    from pledge_registry.complaints import uploads

    merchant = make_merchant()
    key = uuid.uuid4().hex
    for _ in range(2):
        response = file_complaint(client, merchant, idempotency_key=key,
                                  photos=[jpeg_upload()])
        assert response.status_code == 302
        # The retry is answered before its photos are decoded or stored: a full disk then
        # cannot turn an already filed complaint into an error.
        monkeypatch.setattr(uploads, "store_photos", lambda files: (_ for _ in ()).throw(OSError("disk full")))
    [c] = complaints()
    assert len(c.photos) == 1 and stored_files(app) == [c.photos[0].stored_name]


# --- who may see a photo ----------------------------------------------------


@pytest.mark.parametrize("size", ["", "/thumb"])
def test_photo_access_matrix(client, app, size):
    owner = make_user()
    merchant = make_merchant(owner=owner)
    other_owner = make_user()
    make_merchant(owner=other_owner)
    c = filed(client, merchant, photos=[jpeg_upload()])
    url = f"/complaints/photos/{c.photos[0].id}{size}"
    staff = make_user(role="staff")

    # Another shopper, following a case of their own.
    other_shopper = english_browser(app)
    other_case = filed(other_shopper, merchant, shopper_phone="13700005678")
    assert other_case.id != c.id

    def get(user: Any = None, using: Any = None) -> Any:
        using = using or english_browser(app)
        if user is not None:
            login(using, user)
        return using.get(url)

    assert get().status_code == 404                      # anonymous
    assert get(other_owner).status_code == 404           # another merchant
    assert get(owner).status_code == 404                 # the shop, before the case is forwarded
    assert get(using=other_shopper).status_code == 404  # another shopper's session
    for allowed in (get(staff), get(using=client)):     # the officer; the shopper who filed
        assert allowed.status_code == 200
        assert allowed.mimetype == "image/jpeg"
        assert allowed.headers["X-Content-Type-Options"] == "nosniff"
        assert allowed.headers["Cache-Control"] == "no-store"
        assert Image.open(io.BytesIO(allowed.data)).format == "JPEG"

    # A shopper on another phone, after looking the case up with the code and the digits.
    looked_up = english_browser(app)
    assert track(looked_up, c.tracking_code, "1234").status_code == 302
    assert get(using=looked_up).status_code == 200

    case = db.session.get(Complaint, c.id)
    workflow.accept(staff, case)
    workflow.forward(staff, case)
    assert get(owner).status_code == 200                 # the shop, once forwarded
    assert get(other_owner).status_code == 404
    assert english_browser(app).get(f"/complaints/photos/{missing_id(ComplaintPhoto)}{size}").status_code == 404


def test_orphan_sweep_keeps_recorded_photos(client, app):
    merchant = make_merchant()
    c = filed(client, merchant, photos=[jpeg_upload()])
    folder = app.config["UPLOAD_FOLDER"]
    orphan, fresh = os.path.join(folder, "0" * 32 + ".jpg"), os.path.join(folder, "1" * 32 + ".jpg")
    for path in (orphan, fresh):
        with open(path, "wb") as fh:
            fh.write(b"x")
    old = os.path.getmtime(fresh) - 7200
    os.utime(orphan, (old, old))
    os.utime(os.path.join(folder, c.photos[0].stored_name), (old, old))
    assert uploads.remove_orphans(older_than_seconds=3600) == 1
    assert stored_files(app) == sorted([c.photos[0].stored_name, os.path.basename(fresh)])


def test_missing_file_is_404_not_500(client, app):
    merchant = make_merchant()
    c = filed(client, merchant, photos=[jpeg_upload()])
    photo = db.session.get(ComplaintPhoto, c.photos[0].id)
    os.unlink(os.path.join(app.config["UPLOAD_FOLDER"], photo.stored_name))
    assert client.get(f"/complaints/photos/{photo.id}").status_code == 404


# --- thumbnails and the case pages --------------------------------------------


def test_thumbnails_are_small_clean_and_made_once(client, app):
    merchant = make_merchant()
    c = filed(client, merchant, photos=[jpeg_upload(size=(1600, 1200), gps=True)])
    photo = c.photos[0]
    staff = make_user(role="staff")
    officer = english_browser(app)
    login(officer, staff)
    first = officer.get(f"/complaints/photos/{photo.id}/thumb")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    thumb = Image.open(io.BytesIO(first.data))
    assert thumb.format == "JPEG" and thumb.size == uploads.thumbnail_size(photo.width, photo.height) == (320, 240)
    assert len(thumb.getexif()) == 0 and b"Exif" not in first.data
    assert len(first.data) < photo.size_bytes
    thumb_file = os.path.join(app.config["UPLOAD_FOLDER"], photo.stored_name.removesuffix(".jpg") + ".thumb.jpg")
    made_at = os.stat(thumb_file).st_mtime_ns
    assert officer.get(f"/complaints/photos/{photo.id}/thumb").data == first.data
    assert os.stat(thumb_file).st_mtime_ns == made_at, "the cached thumbnail is served, not made again"

    # The sweep keeps a recorded photo's thumbnail; discarding the photo takes both files.
    old = os.path.getmtime(thumb_file) - 7200
    os.utime(thumb_file, (old, old))
    assert uploads.remove_orphans(older_than_seconds=3600) == 0
    uploads.remove_photo_files(photo.stored_name)
    assert stored_files(app) == []


def test_a_damaged_stored_photo_has_no_thumbnail_and_no_500(client, app):
    c = filed(client, make_merchant(), photos=[jpeg_upload()])
    with open(os.path.join(app.config["UPLOAD_FOLDER"], c.photos[0].stored_name), "wb") as fh:
        fh.write(b"\xff\xd8 truncated")
    assert client.get(f"/complaints/photos/{c.photos[0].id}/thumb").status_code == 404


def test_the_thumbnail_of_an_unrecorded_photo_is_swept(app):
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    thumb = os.path.join(folder, "2" * 32 + ".thumb.jpg")
    with open(thumb, "wb") as fh:
        fh.write(b"x")
    old = os.path.getmtime(thumb) - 7200
    os.utime(thumb, (old, old))
    assert uploads.remove_orphans(older_than_seconds=3600) == 1
    assert not os.path.exists(thumb)


def _img_links(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="(/complaints/photos/\d+)"><img src="(/complaints/photos/\d+/thumb)"', page)


def test_the_officer_and_the_forwarded_merchant_see_every_photo(client, app):
    owner = make_user()
    merchant = make_merchant(owner=owner)
    c = filed(client, merchant, photos=[jpeg_upload("a.jpg"), jpeg_upload("b.jpg", size=(30, 90))])
    ids = [p.id for p in c.photos]
    expected = [(f"/complaints/photos/{i}", f"/complaints/photos/{i}/thumb") for i in ids]
    staff = make_user(role="staff")
    officer = english_browser(app)
    login(officer, staff)
    page = officer.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert _img_links(page) == expected
    assert 'width="30" height="90"' in page  # a small photo is not blown up
    for full, thumb in expected:
        assert officer.get(full).status_code == officer.get(thumb).status_code == 200

    case = db.session.get(Complaint, c.id)
    workflow.accept(staff, case)
    shop = english_browser(app)
    login(shop, owner)
    workflow.forward(staff, case)
    page = shop.get(f"/portal/complaints/{c.id}").get_data(as_text=True)
    assert _img_links(page) == expected
    for full, thumb in expected:
        assert shop.get(full).status_code == shop.get(thumb).status_code == 200


def test_a_merchant_sees_no_photo_links_on_a_case_not_forwarded_to_it(client, app):
    owner = make_user()
    merchant = make_merchant(owner=owner)
    c = filed(client, merchant, photos=[jpeg_upload()])
    staff = make_user(role="staff")
    case = db.session.get(Complaint, c.id)
    workflow.accept(staff, case)
    workflow.mediate(staff, case)  # the bureau mediates itself: the shop sees the case, not the photos
    shop = english_browser(app)
    login(shop, owner)
    page = shop.get(f"/portal/complaints/{c.id}").get_data(as_text=True)
    assert "once the bureau forwards the case" in page
    assert _img_links(page) == [] and "/complaints/photos/" not in page
