"""The documents the provider shares: the list, and one document's bytes, streamed."""

from __future__ import annotations

from typing import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from widget_server.core.storage import IMAGES, PDF, TEXT, chunks, content_disposition
from widget_server.profile import documents
from widget_server.web.visit import download_visit, in_db, logged_in_page


async def documents_page(request: Request) -> Response:
    """Every document this person may see, newest first, the unopened ones marked new."""
    return await logged_in_page(request, "widget/documents.html", "bookings", lambda db, who, v: {
        "documents": documents.load_documents(db, who)})


async def document_file(request: Request) -> Response:
    """One document: downloaded, or with `?inline=1` an image or a PDF shown in place. Read a
    chunk at a time, each in a short transaction of its own (see core.storage)."""
    v, who = await download_visit(request)
    external_id = request.path_params["document"]
    doc = await in_db(request, lambda db: documents.open_document(
        db, v.tenant, who, external_id, v.now, record=request.method == "GET"))
    storage = request.app.state.files.of(doc.storage)

    async def body() -> AsyncIterator[bytes]:
        for index in chunks(doc.size):
            yield await in_db(request, lambda db, index=index: storage.read(db, doc, index))

    inline = request.query_params.get("inline") == "1" and doc.content_type in (*IMAGES, PDF)
    media_type = doc.content_type + ("; charset=utf-8" if doc.content_type == TEXT else "")
    return StreamingResponse(body(), media_type=media_type, headers={
        "Content-Disposition": content_disposition(doc.filename, inline),
        "Content-Length": str(doc.size),
        "Cache-Control": "private, no-store",
    })
