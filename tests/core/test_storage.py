"""A shared document's bytes are kept in the database, or in a folder when a deployment sets
one (core.storage): what goes in comes out the same, chunk by chunk; a file past the limit, or
one that is not a PDF, PNG, JPEG, WebP or plain text by its content, leaves nothing behind; and
a file replaced or deleted goes only once the database has said yes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from widget_server.core.db import session_scope
from widget_server.core.errors import (
    AppError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from widget_server.core.models import Document, DocumentChunk
from widget_server.core.settings import Settings, SettingsError
from widget_server.core.storage import (
    CHUNK_SIZE,
    ContentCheck,
    FileChanged,
    Files,
    chunks,
    clean_filename,
    content_disposition,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 3200  # 819 KB: four chunks, the last one short
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x02" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x03" * 40
TEXT = "Kit list: goggles, towel, swim cap.\r\nZoznam vecí: plavky, uterák.\t✓\n".encode()


@pytest.fixture(params=["database", "directory"])
def files(request, tmp_path) -> Files:
    return Files(tmp_path / "files" if request.param == "directory" else None)


def new_document(db, external_id: str = "doc-1") -> Document:
    row = Document(tenant="demo", external_id=external_id, title="Letter", filename="",
                   content_type="", audience="tenant")
    db.add(row)
    db.flush()
    return row


def store(engine, files: Files, content, limit: int = 10_000_000,
          external_id: str = "doc-1") -> Document:
    """A document stored as an upload is: its row and its bytes in one transaction."""
    with session_scope(engine) as db:
        row = new_document(db, external_id)
        saved = files.default.save(db, row.id, content, limit)
        row.size, row.sha256, row.content_type = saved.size, saved.sha256, saved.content_type
        row.storage, row.storage_key = files.default.kind, saved.key
        return row


def read_back(engine, files: Files, row) -> bytes:
    """The bytes as a download reads them: a chunk at a time, each in its own transaction."""
    out = b""
    for index in chunks(row.size):
        with session_scope(engine) as db:
            piece = files.of(row.storage).read(db, row, index)
            assert len(piece) <= CHUNK_SIZE
            out += piece
    return out


def nothing_stored(engine, files: Files) -> bool:
    with session_scope(engine) as db:
        rows = db.exec(select(func.count()).select_from(Document)).one()
        pieces = db.exec(select(func.count()).select_from(DocumentChunk)).one()
    on_disk = [] if files.directory is None else [
        p for p in files.directory.root.rglob("*") if p.is_file()]
    return rows == 0 and pieces == 0 and on_disk == []


@pytest.mark.parametrize("content", [PDF, PNG, TEXT], ids=["pdf", "png", "text"])
def test_what_goes_in_comes_out_the_same_chunk_by_chunk(engine, files, content):
    row = store(engine, files, io.BytesIO(content))
    assert (row.size, row.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert read_back(engine, files, row) == content
    assert len(chunks(row.size)) == -(-len(content) // CHUNK_SIZE)


def test_an_upload_in_odd_pieces_is_kept_in_whole_chunks(engine, files):
    pieces = [PDF[i:i + 7_777] for i in range(0, len(PDF), 7_777)]
    row = store(engine, files, iter(pieces))
    assert read_back(engine, files, row) == PDF
    if files.directory is None:
        with session_scope(engine) as db:
            sizes = db.exec(select(func.length(DocumentChunk.data))
                            .order_by(DocumentChunk.seq)).all()
        assert sizes == [CHUNK_SIZE] * 3 + [len(PDF) - 3 * CHUNK_SIZE]


def test_a_file_past_the_limit_is_refused_as_soon_as_it_passes_and_leaves_nothing(engine,
                                                                                     files):
    read = []

    def upload():
        for i in range(0, len(PDF), 1000):
            read.append(i)
            yield PDF[i:i + 1000]

    with pytest.raises(PayloadTooLarge, match="larger than 300,000 bytes"):
        store(engine, files, upload(), limit=300_000)
    assert len(read) * 1000 <= 300_000 + CHUNK_SIZE < len(PDF)  # it stopped reading
    assert nothing_stored(engine, files)


@pytest.mark.parametrize("content,what", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "a Windows program"),
    (b"\x7fELF\x02\x01\x01", "a program"),
    (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive"),
    (b"GIF89a\x01\x00", "a GIF image"),
    (b"\n  <!DOCTYPE html><html><script>alert(1)</script>", "HTML or XML"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "HTML or XML"),
    (b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "HTML or XML"),
    (b"Kit list\x00with a NUL", "of a type that is not allowed"),
    (b"caf\xe9 au lait (Latin-1, not UTF-8)", "of a type that is not allowed"),
], ids=["exe", "elf", "zip", "gif", "html", "svg", "xml", "nul", "latin1"])
def test_a_file_is_judged_by_its_content_and_a_refused_one_leaves_nothing(engine, files,
                                                                           content, what):
    with pytest.raises(UnsupportedMediaType, match=f"The file is {what}"):
        store(engine, files, io.BytesIO(content))
    assert nothing_stored(engine, files)


@pytest.mark.parametrize("content,expected", [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"),
    (TEXT, "text/plain"), (b"<3 from the team", "text/plain"), (b"%PDF-", "application/pdf")])
@pytest.mark.parametrize("piece", [1, 5, 1 << 20])
def test_the_type_comes_from_the_first_bytes_however_they_arrive(content, expected, piece):
    check = ContentCheck()
    for i in range(0, min(len(content), 4096), piece):
        check.feed(content[i:i + piece])
    assert check.result() == expected


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationFailed, match="empty"):
        ContentCheck().result()


def test_a_failed_transaction_takes_its_new_file_with_it(engine, tmp_path):
    files = Files(tmp_path / "files")
    with pytest.raises(RuntimeError), session_scope(engine) as db:
        row = new_document(db)
        files.default.save(db, row.id, io.BytesIO(PDF), 10_000_000)
        raise RuntimeError("the request failed after the file was written")
    assert nothing_stored(engine, files)


def test_a_deleted_file_stays_until_the_deletion_commits(engine, tmp_path):
    files = Files(tmp_path / "files")
    row = store(engine, files, io.BytesIO(PDF))
    path = files.directory.path(row.storage_key)
    with pytest.raises(RuntimeError), session_scope(engine) as db:
        files.default.delete(db, row)
        raise RuntimeError("rolled back")
    assert path.read_bytes() == PDF
    with session_scope(engine) as db:
        files.default.delete(db, row)
        assert path.exists()  # until the commit
    assert not path.exists()


def test_a_download_never_mixes_in_chunks_of_a_replaced_file(engine, files):
    row = store(engine, files, io.BytesIO(PDF))
    with session_scope(engine) as db:
        first = files.of(row.storage).read(db, row, 0)
    with session_scope(engine) as db:  # the provider replaces it meanwhile
        stored = db.get(Document, row.id)
        files.of(stored.storage).delete(db, stored)
        saved = files.default.save(db, stored.id, io.BytesIO(TEXT * 9000), 10_000_000)
        stored.sha256, stored.storage_key = saved.sha256, saved.key
    assert first == PDF[:CHUNK_SIZE]
    with pytest.raises(FileChanged), session_scope(engine) as db:
        files.of(row.storage).read(db, row, 1)


def test_documents_stored_before_a_switch_to_a_folder_stay_readable(engine, tmp_path):
    before = store(engine, Files(None), io.BytesIO(PDF), external_id="old")
    files = Files(tmp_path / "files")
    after = store(engine, files, io.BytesIO(PNG), external_id="new")
    assert (before.storage, after.storage) == ("db", "dir")
    assert read_back(engine, files, before) == PDF and read_back(engine, files, after) == PNG
    with pytest.raises(AppError, match="WIDGET_FILES_DIR") as unset:  # a clear 503
        Files(None).of("dir")
    assert unset.value.status == 503


def test_file_names_keep_no_folder_no_control_character_and_the_right_ending():
    assert clean_filename('../../etc/"evil"\r\n.pdf', "application/pdf") == '"evil".pdf'
    assert clean_filename("C:\\Users\\me\\photo.pdf", "image/png") == "photo.png"
    assert clean_filename("Term 1. Letter", "application/pdf") == "Term 1. Letter.pdf"
    assert clean_filename("kit.CSV", "text/plain") == "kit.CSV"
    assert clean_filename("page.html", "text/plain") == "page.txt"
    assert clean_filename("..", "image/jpeg", fallback="doc-7") == "doc-7.jpg"
    assert len(clean_filename("x" * 500 + ".webp", "image/webp")) == 200


def test_the_download_name_cannot_break_the_header_and_keeps_its_real_spelling():
    header = content_disposition('../"evil"\r\n;name=x.pdf')
    assert "\r" not in header and "\n" not in header and "/" not in header
    assert header.startswith('attachment; filename="evil_name_x.pdf"; filename*=UTF-8\'\'')
    assert header.count('"') == 2
    slovak = content_disposition("Zápis – jeseň 2026.pdf", inline=True)
    assert slovak == ("inline; filename=\"Zapis jesen 2026.pdf\"; "
                      "filename*=UTF-8''Z%C3%A1pis%20%E2%80%93%20jese%C5%88%202026.pdf")
    assert 'filename="document.pdf"' in content_disposition("Список.pdf")


def test_the_settings_read_the_folder_and_the_limit_from_the_environment(tmp_path: Path):
    default = Settings.from_environ({})
    assert (default.files_dir, default.max_document_bytes) == (None, 10_000_000)
    chosen = Settings.from_environ({"WIDGET_FILES_DIR": str(tmp_path),
                                    "WIDGET_MAX_DOCUMENT_BYTES": "5000000"})
    assert (chosen.files_dir, chosen.max_document_bytes) == (tmp_path, 5_000_000)
    assert Settings.from_environ({"WIDGET_FILES_DIR": " "}).files_dir is None
    with pytest.raises(SettingsError, match="WIDGET_MAX_DOCUMENT_BYTES"):
        Settings.from_environ({"WIDGET_MAX_DOCUMENT_BYTES": "10MB"})
