"""Where the bytes of shared documents live, and what a document may be.

Two places behind one small interface (`Storage`): the database, the default (`document_chunk`
rows of 256 KB, on SQLite and PostgreSQL alike, nothing to set up), and a folder on disk
(`WIDGET_FILES_DIR`), so a deployment can move files out of its database. A document's row
names the place that holds its bytes, so documents stored before a switch stay readable.

Both write inside the caller's transaction: chunks roll back with it, a file written for a
transaction that rolls back is removed, and a file replaced or deleted is removed only once the
transaction has committed; so a refused or failed upload leaves nothing behind, and a failed
replacement keeps the old bytes. Reads go one chunk at a time, each in a short transaction of
its own, so a download never holds a whole file in memory, nor a transaction open while a slow
client reads.

What a file is comes from its first bytes, never from its name or declared type: PDF, PNG,
JPEG, WebP, or plain text (UTF-8 without control characters other than tab and line breaks,
and not markup: a file that opens with a tag is HTML or XML).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

from sqlalchemy import bindparam, delete, event, insert, select
from sqlmodel import Session

from widget_server.core.errors import (
    AppError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from widget_server.core.models import Document, DocumentChunk
from widget_server.core.plain_text import has_control

log = logging.getLogger("widget_server.storage")

CHUNK_SIZE = 256 * 1024
PDF, PNG, JPEG, WEBP, TEXT = ("application/pdf", "image/png", "image/jpeg", "image/webp",
                              "text/plain")
ALLOWED_TYPES = (PDF, PNG, JPEG, WEBP, TEXT)
IMAGES = (PNG, JPEG, WEBP)
# File name endings that fit each type; the first is the one given to a name without one.
EXTENSIONS = {PDF: (".pdf",), PNG: (".png",), JPEG: (".jpg", ".jpeg"), WEBP: (".webp",),
              TEXT: (".txt", ".text", ".csv", ".md", ".log")}


class FileTooLarge(PayloadTooLarge):
    """A file past the size limit, refused as soon as the limit is passed."""


class FileTypeRefused(UnsupportedMediaType):
    """A file whose content is none of the allowed types."""


class FileChanged(RuntimeError):
    """A document's bytes were replaced or deleted while they were being read."""


@dataclass(frozen=True)
class Saved:
    """What a storage kept: its key (None in the database), size, SHA-256 and type."""

    key: str | None
    size: int
    sha256: str
    content_type: str


class Storage(Protocol):
    """Where documents' bytes are kept. `kind` is what `document.storage` says."""

    kind: str

    def save(self, db: Session, document_id: int, source: BinaryIO | Iterable[bytes],
             limit: int) -> Saved:
        """Keep the bytes of `source` for the document, in the transaction of `db`."""

    def read(self, db: Session, document: Any, index: int) -> bytes:
        """The `index`-th chunk of a document's bytes (see `chunks`)."""

    def delete(self, db: Session, document: Any) -> None:
        """Drop a document's bytes along with the transaction of `db`."""


def chunks(size: int) -> range:
    """The chunk indexes of a file of `size` bytes, for `Storage.read`."""
    return range((size + CHUNK_SIZE - 1) // CHUNK_SIZE)


def too_large(limit: int) -> FileTooLarge:
    size = f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit:,} bytes"
    return FileTooLarge(f"The file is larger than {size}, the most a document may have.")


# -- what a file is ----------------------------------------------------------------------------

_HEAD = 12  # enough for every signature below (WebP's is at bytes 8-11)
_SPACE = "\ufeff \t\r\n"
_LOOKS_LIKE = ((b"PK\x03\x04", "a ZIP archive (Word and Excel files are ZIP archives too)"),
               (b"MZ", "a Windows program"), (b"\x7fELF", "a program"),
               (b"GIF8", "a GIF image"), (b"\xd0\xcf\x11\xe0", "an old Office document"))


def _signature(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


class ContentCheck:
    """Tells what a file is from its bytes as they go by (`feed`, then `result`)."""

    def __init__(self) -> None:
        self.head = b""
        self.size = 0
        self._decoder: Any = codecs.getincrementaldecoder("utf-8")()
        self._text = True  # still possibly plain text
        self._lead = ""  # its first two characters after white space, to tell markup

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if len(self.head) < _HEAD:
            self.head += chunk[:_HEAD - len(self.head)]
        if self._text and (len(self.head) < _HEAD or _signature(self.head) is None):
            self._read_text(chunk, final=False)

    def _read_text(self, chunk: bytes, final: bool) -> None:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self._text = False
            return
        if has_control(text, free_text=True):
            self._text = False
        elif len(self._lead) < 2:
            more = text if self._lead else text.lstrip(_SPACE)
            self._lead += more[:2 - len(self._lead)]

    def result(self) -> str:
        """The file's type; FileTypeRefused (or ValidationFailed when empty) otherwise."""
        if self.size == 0:
            raise ValidationFailed("The file is empty.",
                                   errors=[field_error(["file"], "must not be empty")])
        found = _signature(self.head)
        if found:
            return found
        if self._text:
            self._read_text(b"", final=True)
        markup = self._lead[:1] == "<" and (self._lead[1:2].isalpha()
                                           or self._lead[1:2] in ("!", "?", "/"))
        if self._text and not markup:
            return TEXT
        what = "HTML or XML" if self._text else next(
            (name for magic, name in _LOOKS_LIKE if self.head.startswith(magic)),
            "of a type that is not allowed")
        raise FileTypeRefused(
            f"The file is {what}. Documents may be PDF, PNG, JPEG or WebP files, or plain "
            "text (UTF-8); their content is checked, not their name or declared type.")


def _pieces(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """`source` (a file or chunks of any size) in pieces of CHUNK_SIZE, the last shorter."""
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)  # a transaction run again reads it again
        while piece := source.read(CHUNK_SIZE):  # type: ignore[union-attr]
            yield piece
        return
    pending = bytearray()
    for chunk in source:
        pending += chunk
        while len(pending) >= CHUNK_SIZE:
            yield bytes(pending[:CHUNK_SIZE])
            del pending[:CHUNK_SIZE]
    if pending:
        yield bytes(pending)


def copy_checked(source: BinaryIO | Iterable[bytes], limit: int,
                 write: Callable[[int, bytes], Any]) -> Saved:
    """Hand `source` to `write` piece by piece (its index, its bytes), counting, hashing and
    checking what it is; FileTooLarge as soon as it passes `limit` bytes."""
    digest, check = hashlib.sha256(), ContentCheck()
    for index, piece in enumerate(_pieces(source)):
        check.feed(piece)
        if check.size > limit:
            raise too_large(limit)
        digest.update(piece)
        write(index, piece)
    return Saved(None, check.size, digest.hexdigest(), check.result())


# -- the two storages --------------------------------------------------------------------------

_INSERT_CHUNK = insert(DocumentChunk)
_DELETE_CHUNKS = delete(DocumentChunk).where(DocumentChunk.document_id == bindparam("document"))
# The sha256 guard: a chunk of another version (replaced meanwhile) is never mixed in.
_READ_CHUNK = (select(DocumentChunk.data)
               .join(Document, Document.id == DocumentChunk.document_id)
               .where(DocumentChunk.document_id == bindparam("document"),
                      DocumentChunk.seq == bindparam("seq"),
                      Document.sha256 == bindparam("sha256")))


class DatabaseStorage:
    """Bytes in `document_chunk` rows."""

    kind = "db"

    def save(self, db: Session, document_id: int, source: BinaryIO | Iterable[bytes],
             limit: int) -> Saved:
        return copy_checked(source, limit, lambda index, piece: db.execute(
            _INSERT_CHUNK, {"document_id": document_id, "seq": index, "data": piece}))

    def read(self, db: Session, document: Any, index: int) -> bytes:
        data = db.execute(_READ_CHUNK, {"document": document.id, "seq": index,
                                        "sha256": document.sha256}).scalar()
        if data is None:
            raise FileChanged(f"document {document.id}: chunk {index} is gone")
        return bytes(data)

    def delete(self, db: Session, document: Any) -> None:
        db.execute(_DELETE_CHUNKS, {"document": document.id})


_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")


class DirectoryStorage:
    """Bytes in files under one folder, named by random keys (`ab/ab12...`), never by anything
    a provider or a parent chose."""

    kind = "dir"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key or ""):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def save(self, db: Session, document_id: int, source: BinaryIO | Iterable[bytes],
             limit: int) -> Saved:
        token = secrets.token_hex(16)
        key = f"{token[:2]}/{token}"
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        partial = path.with_name(path.name + ".part")
        try:
            with partial.open("wb") as out:
                saved = copy_checked(source, limit, lambda _index, piece: out.write(piece))
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        # Kept if the transaction commits; removed if it rolls back.
        committed: list[bool] = []
        event.listen(db, "after_commit", lambda _s: committed.append(True), once=True)
        event.listen(db, "after_rollback", lambda _s: committed or _remove(path), once=True)
        return replace(saved, key=key)

    def read(self, db: Session, document: Any, index: int) -> bytes:
        try:
            with self.path(document.storage_key).open("rb") as file:
                file.seek(index * CHUNK_SIZE)
                return file.read(CHUNK_SIZE)
        except FileNotFoundError:
            raise FileChanged(f"document {document.id}: its file is gone") from None

    def delete(self, db: Session, document: Any) -> None:
        path = self.path(document.storage_key)
        event.listen(db, "after_commit", lambda _s: _remove(path), once=True)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:  # an orphan file is harmless; a failed request is not
        log.warning("could not remove %s: %s", path, error)


class Files:
    """An app's storages: where new documents go (the folder when one is set, else the
    database), and each by its kind, for documents stored before a switch."""

    def __init__(self, files_dir: Path | None = None):
        self.database = DatabaseStorage()
        self.directory = DirectoryStorage(files_dir) if files_dir else None

    @property
    def default(self) -> Storage:
        return self.directory or self.database

    def of(self, kind: str) -> Storage:
        if kind == DatabaseStorage.kind:
            return self.database
        if kind == DirectoryStorage.kind and self.directory is not None:
            return self.directory
        # The operator unset the folder that files were kept in: a clear 503, not a 500.
        raise AppError("This document's file is kept in a folder this server is not set up "
                       "with: set WIDGET_FILES_DIR to that folder again.",
                       title="File storage not configured", status=503)


# -- file names --------------------------------------------------------------------------------

# Endings of other kinds of files: one of these on a file of ours is replaced, not kept.
_OTHER_ENDINGS = {"bin", "bmp", "dat", "doc", "docx", "exe", "gif", "heic", "htm", "html", "jpe",
                  "js", "json", "odt", "ppt", "pptx", "rtf", "svg", "tif", "tiff", "xls", "xlsx",
                  "xml", "zip", *(e[1:] for endings in EXTENSIONS.values() for e in endings)}


def clean_filename(name: str | None, content_type: str, fallback: str = "document") -> str:
    """A file name to keep: no folders, no control characters, at most 200 characters, and an
    ending that fits what the file is (a PNG named `photo.pdf` becomes `photo.png`)."""
    name = re.split(r"[/\\]", name or "")[-1]
    name = "".join(c for c in name if not has_control(c)).strip(" .") or fallback
    stem, dot, ending = name.rpartition(".")
    endings = EXTENSIONS[content_type]
    if not dot or ending.lower() not in _OTHER_ENDINGS:
        stem, ending = name, endings[0]
    elif "." + ending.lower() not in endings:
        ending = endings[0]
    else:
        ending = "." + ending
    stem = stem.strip(" .") or fallback
    return stem[:200 - len(ending)] + ending


def content_disposition(filename: str, inline: bool = False) -> str:
    """`attachment` (or `inline`) with an ASCII name every browser takes and the real one in
    RFC 5987's `filename*`; nothing in either can end the header or name a folder."""
    stem, dot, ending = filename.rpartition(".")
    if not dot:
        stem, ending = filename, ""

    def ascii_only(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r" +", " ", re.sub(r"[^A-Za-z0-9._ ()-]+", "_", plain)).strip(" ._")

    ascii_name = ascii_only(stem) or "document"
    if ascii_only(ending):
        ascii_name += "." + ascii_only(ending)
    real = quote("".join(c for c in filename if not has_control(c)), safe="")
    return (f'{"inline" if inline else "attachment"}; filename="{ascii_name}"; '
            f"filename*=UTF-8''{real}")
