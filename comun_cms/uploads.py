"""Evidence uploads: size limits, type sniffed from content, sanitized names, SHA-256, thumbnails.

Files are stored once per tenant by content hash in the upload store (:mod:`comun_cms.filestore`):
by default under ``UPLOAD_DIR/<tenant>/<aa>/<sha256>``, image thumbnails (max 480 px, WebP) under
``UPLOAD_DIR/<tenant>/thumbs/<sha256>.webp``; with ``UPLOAD_STORE = "database"`` in the database,
which every app host reaches. A file is received and checked in a scratch file, and stored only
once it passed every check.
Type detection uses the ``filetype`` package (magic numbers), never the client's claim; the file
name's extension must agree with the detected type.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import filetype
from flask import current_app
from flask_babel import format_decimal, lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select

from comun_cms.extensions import db
from comun_cms.filestore import FilesystemStore, get_store
from comun_cms.models import Attachment
from comun_cms.private_files import PRIVATE_FILE_MODE, make_private, private_dir
from comun_cms.tenancy import get_current_tenant

#: kind -> {extension: mimetype}
ALLOWED: dict[str, dict[str, str]] = {
    "image": {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"},
    "pdf": {"pdf": "application/pdf"},
    "audio": {"mp3": "audio/mpeg", "ogg": "audio/ogg", "oga": "audio/ogg", "wav": "audio/x-wav", "m4a": "audio/mp4", "flac": "audio/x-flac"},
    "video": {"mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime", "m4v": "video/x-m4v"},
    "document": {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "odt": "application/vnd.oasis.opendocument.text",
                 "ods": "application/vnd.oasis.opendocument.spreadsheet"},
}
_EXT_KIND = {ext: kind for kind, exts in ALLOWED.items() for ext in exts}
# filetype reports some formats under other extensions
_EXT_ALIASES = {"jpeg": "jpg", "oga": "ogg", "m4v": "mp4", "mov": "mov", "m4a": "m4a"}
CHUNK = 1024 * 1024


class UploadError(ValueError):
    """Rejected upload. ``field`` names the form field; ``str(error)`` is a translated message."""

    def __init__(self, message, field: str = "file"):
        self.field = field
        super().__init__(str(message))


@dataclass(frozen=True)
class StoredFile:
    """Result of :func:`save_stream`: ``sha256`` (hex), ``size`` (bytes), ``path`` (the local
    scratch file holding the bytes, not yet in the store)."""

    sha256: str
    size: int
    path: Path


def sanitize_filename(name: str, default: str = "archivo") -> str:
    """Return a safe file name: no directories, no control characters, accents folded to ASCII,
    only ``[A-Za-z0-9._-]``, at most 120 characters, never starting with a dot.

    ``"../../etc/passwd"`` -> ``"passwd"``; ``"Minuta sesión 19.pdf"`` -> ``"Minuta_sesion_19.pdf"``.
    """
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")
    name = re.sub(r"_+", "_", name)
    if not name:
        return default
    stem, dot, ext = name.rpartition(".")
    if dot and len(name) > 120:
        name = stem[: 119 - len(ext)] + "." + ext
    return name[:120]


def content_disposition(disposition: str, filename: str) -> str:
    """Return a ``Content-Disposition`` header value for a download (RFC 6266).

    Args:
        disposition: ``"attachment"`` (save) or ``"inline"`` (show in the browser).
        filename: the name offered; it is sanitized (:func:`sanitize_filename`) first.

    Returns:
        ``'attachment; filename="<name>"; filename*=UTF-8\'\'<percent-encoded name>'`` (the
        sanitized name is ASCII, so both forms carry the same name).
    """
    name = sanitize_filename(filename)
    return f"{disposition}; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


def upload_root(tenant_slug: str) -> Path:
    """Folder of a tenant's stored files in the filesystem store (``UPLOAD_DIR/<tenant>``)."""
    return Path(current_app.config["UPLOAD_DIR"]) / tenant_slug


def stored_path(tenant_slug: str, sha256: str) -> Path:
    """Path of a stored file by hash in the filesystem store (may not exist)."""
    return FilesystemStore(current_app.config["UPLOAD_DIR"]).path(tenant_slug, sha256)


def thumbnail_path(tenant_slug: str, sha256: str) -> Path:
    """Path of an image's thumbnail in the filesystem store (may not exist)."""
    return FilesystemStore(current_app.config["UPLOAD_DIR"]).path(tenant_slug, sha256, "thumb")


def save_stream(stream: BinaryIO, tenant_slug: str, max_bytes: int) -> StoredFile:
    """Copy ``stream`` into a private scratch file of the upload store, hashing as it goes. The
    caller checks the file, then stores it (``get_store().put``) or deletes it.

    Raises:
        UploadError: the stream is empty or longer than ``max_bytes`` (nothing is kept).
    """
    root = get_store().scratch_dir(tenant_slug)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(_l("The file is larger than the limit of %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError(_l("The file is empty."))
        os.chmod(tmp, PRIVATE_FILE_MODE)  # mkstemp makes 0600 already; said here so it stays so
        return StoredFile(digest.hexdigest(), size, Path(tmp))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sniff(path: Path) -> tuple[str, str] | None:
    """Return ``(extension, mimetype)`` detected from the file's first bytes, or ``None``."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    kind = filetype.guess(head)
    if kind is None:
        return None
    ext = kind.extension
    if ext == "zip":  # office formats are ZIP containers, checked by is_office_document()
        return None
    return ext, kind.mime


#: what the ZIP container of each office format must hold (ECMA-376 / ISO 29500 OOXML, OASIS ODF)
_OFFICE_MARKERS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml",
                   "odt": "application/vnd.oasis.opendocument.text",
                   "ods": "application/vnd.oasis.opendocument.spreadsheet"}
MAX_OFFICE_UNCOMPRESSED = 200 * 1024 * 1024  # bytes; refuses zip bombs


def is_office_document(path: Path, ext: str) -> bool:
    """``True`` if ``path`` is a real OOXML (``[Content_Types].xml`` and the main part) or ODF
    (first member ``mimetype`` naming the type) file of extension ``ext``, whose members
    uncompress to at most 200 MB."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if sum(i.file_size for i in infos) > MAX_OFFICE_UNCOMPRESSED:
                return False
            names = {i.filename for i in infos}
            if ext in ("docx", "xlsx"):
                return "[Content_Types].xml" in names and _OFFICE_MARKERS[ext] in names
            if infos and infos[0].filename == "mimetype":
                return archive.read("mimetype").decode("ascii", "replace").strip() == _OFFICE_MARKERS[ext]
            return False
    except (zipfile.BadZipFile, OSError, KeyError):
        return False


def image_size(src: Path) -> tuple[int, int] | None:
    """Return ``(width, height)`` in pixels of image ``src`` from its header only (Pillow's
    ``Image.open`` is lazy: no pixel is decoded), or ``None`` if Pillow cannot identify it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                return im.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError, SyntaxError):
        return None


def check_image_pixels(src: Path, name: str, field: str = "file") -> None:
    """Refuse an image of more than ``MAX_IMAGE_PIXELS`` pixels (config, default 40 million)
    before anything decodes it: a small file can declare a huge picture (a decompression bomb:
    a 663 KB PNG of 14000 x 12500 px took 1.49 GB to decode). Pillow's own global
    ``Image.MAX_IMAGE_PIXELS`` only warns up to twice its value, so the size in the header is
    checked here.

    Raises:
        UploadError: the image is larger than the limit, or unreadable (message names ``name``).
    """
    limit = int(current_app.config.get("MAX_IMAGE_PIXELS") or 40_000_000)
    dims = image_size(src)
    if dims is None:
        raise UploadError(_l("The image “%(name)s” cannot be read.", name=name), field)
    width, height = dims
    if width * height > limit:
        raise UploadError(_l("The image “%(name)s” measures %(width)s × %(height)s pixels (%(mpx)s megapixels); "
                             "at most %(limit)s megapixels are accepted. Reduce it and upload it again.",
                             name=name, width=width, height=height, mpx=format_decimal(round(width * height / 1e6, 1)),
                             limit=format_decimal(round(limit / 1e6, 1))), field)


def make_thumbnail(src: Path, dest: Path, size: int = 480) -> bool:
    """Write a WebP thumbnail (longest side ``size`` px) of image ``src`` to ``dest``.

    Bounded work: call :func:`check_image_pixels` first; JPEG is decoded at a reduced scale
    (``Image.draft``) and other formats are reduced by whole factors before resampling
    (``thumbnail(reducing_gap=2.0)``). Returns ``False`` if Pillow cannot read the image (the
    upload is then rejected by the caller). The thumbnail gets mode 0600 in 0700 folders, like the
    file (:mod:`comun_cms.private_files`).
    """
    try:
        with Image.open(src) as im:
            im.draft("RGB", (size, size))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale; no-op otherwise
            im.thumbnail((size, size), reducing_gap=2.0)
            private_dir(dest.parent)
            if im.mode not in ("RGB", "RGBA"):
                im = im.convert("RGBA")
            im.save(dest, "WEBP", quality=80)
            make_private(dest)
        return True
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError, SyntaxError):
        return False


def store_upload(file, *, owner_type: str = "", owner_id: str = "", title: str = "",
                 kinds: tuple[str, ...] = tuple(ALLOWED), field: str = "file", user_id: int | None = None) -> Attachment:
    """Validate and store an uploaded file (a werkzeug ``FileStorage``) for the current tenant.

    Args:
        file: the uploaded file.
        owner_type / owner_id: the record it belongs to (``"page"``, ``"12"``), may be set later.
        title: a human title (defaults to the file name).
        kinds: accepted kinds (``image``, ``pdf``, ``audio``, ``video``, ``document``).
        field: the form field name used in error messages.

    Returns:
        The new :class:`Attachment` (added to the session, not committed).

    Raises:
        UploadError: no file, unknown or disallowed extension, content that does not match the
            extension (e.g. an executable named ``.pdf``), oversize, unreadable image, image of
            more than ``MAX_IMAGE_PIXELS`` pixels (:func:`check_image_pixels`).
    """
    tenant = get_current_tenant()
    if tenant is None:
        raise RuntimeError("store_upload needs a current tenant")
    if file is None or not getattr(file, "filename", ""):
        raise UploadError(_l("Choose a file to upload."), field)
    name = sanitize_filename(file.filename)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    kind = _EXT_KIND.get(ext)
    if kind is None or kind not in kinds:
        allowed = ", ".join(sorted(e for k in kinds for e in ALLOWED[k]))
        raise UploadError(_l("File type “.%(ext)s” is not accepted. Accepted: %(allowed)s.", ext=ext or "?", allowed=allowed), field)
    limits = current_app.config["UPLOAD_MAX_BYTES"]
    store = get_store()
    stored = save_stream(file.stream, tenant.slug, int(limits.get(kind, 10 * 1024 * 1024)))
    thumb = stored.path.with_name(stored.path.name + ".webp")
    try:
        if kind == "document":
            ok = is_office_document(stored.path, ext)
            mime = ALLOWED[kind][ext]
        else:
            detected = sniff(stored.path)
            ok = False
            mime = ALLOWED[kind][ext]
            if detected:
                dext, dmime = detected
                want = _EXT_ALIASES.get(ext, ext)
                ok = dext == want or _EXT_KIND.get(dext) == kind
                mime = dmime if ok else mime
        if not ok:
            raise UploadError(_l("The content of “%(name)s” is not a %(kind)s file, whatever its name says.", name=name, kind=kind), field)
        if kind == "image":
            check_image_pixels(stored.path, name, field)
        if kind == "image" and not make_thumbnail(stored.path, thumb):
            raise UploadError(_l("The image “%(name)s” cannot be read.", name=name), field)
        store.put(tenant.slug, stored.sha256, "", stored.path)
        if kind == "image":
            store.put(tenant.slug, stored.sha256, "thumb", thumb)
    finally:
        for leftover in (stored.path, thumb):
            leftover.unlink(missing_ok=True)
    att = Attachment(owner_type=owner_type, owner_id=str(owner_id or ""), filename=name, title=title or name,
                     mimetype=mime, kind=kind, size=stored.size, sha256=stored.sha256, uploaded_by_id=user_id)
    db.session.add(att)
    return att


def discard_unused(tenant_slug: str, sha256: str) -> None:
    """Remove a stored file unless another attachment of the tenant uses the same content."""
    in_use = db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.sha256 == sha256))
    if not in_use:
        store = get_store()
        for variant in ("", "thumb"):
            store.delete(tenant_slug, sha256, variant)
