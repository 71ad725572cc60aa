"""Whatever the lines of a bulk import hold (valid items, broken JSON, wrong types, unknown
resources, control characters, invalid UTF-8, huge strings), the answer is a report with exactly
one result per non-blank line, in order, never a server error; and every valid line is stored."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from widget_server.api import sync
from widget_server.api.resources import RESOURCES
from widget_server.core.db import session_scope

# "." and ".." are refused like any id an address cannot hold (fields.not_dots).
ID = st.from_regex(r"[A-Za-z0-9._:~-]{1,24}", fullmatch=True).filter(
    lambda value: value not in (".", ".."))
NAME = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1,
               max_size=40).filter(str.strip)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)
# No CR or LF: those end a line. Every other character may be in one, controls included.
LINE_TEXT = st.text(st.characters(blacklist_characters="\r\n"), max_size=60)
HUGE = st.builds(lambda char, size: char * size,
                 st.characters(blacklist_characters="\r\n"), st.integers(10_000, 200_000))


def email_of(external_id: str) -> str:
    """One address per id, so that two valid clients never share one."""
    return f"id-{external_id.encode().hex()}@example.com"


@st.composite
def valid_lines(draw) -> tuple[str, str, str, str]:
    """(resource, id, name as stored, the line) of an item that must be stored."""
    resource, external_id, name = draw(st.sampled_from(["clients", "programmes"])), draw(ID), \
        draw(NAME)
    item = {"id": external_id, "name": name}
    if resource == "clients":
        item["email"] = email_of(external_id)
    return resource, external_id, name.strip(), json.dumps({"resource": resource, "item": item})


def dumped(value) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\r", "").replace("\n", "")


BAD_LINES = st.one_of(
    LINE_TEXT,
    HUGE,
    st.binary(max_size=60).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
    JSON_VALUES.map(dumped),
    st.builds(lambda resource, item: dumped({"resource": resource, "item": item}),
              st.text(max_size=20) | st.sampled_from(list(RESOURCES)) | JSON_VALUES,
              JSON_VALUES),
    st.builds(lambda resource, external_id, field, value: dumped(
        {"resource": resource, "item": {"id": external_id, field: value}}),
        st.sampled_from(list(RESOURCES)), ID | JSON_VALUES,
        st.sampled_from(["name", "email", "client_id", "starts_at", "amount", "birth_date"]),
        JSON_VALUES | HUGE | LINE_TEXT),
)
LINES = st.lists(st.one_of(valid_lines(), BAD_LINES, st.sampled_from(["", "  ", "\t"])),
                 min_size=1, max_size=8)


def as_bytes(line) -> bytes:
    if isinstance(line, tuple):
        line = line[3]
    # A lone surrogate becomes bytes that are not UTF-8, which a line may hold too.
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(lines=LINES)
def test_every_line_gets_its_own_answer(api, lines):
    body = b"\n".join(as_bytes(line) for line in lines)
    answer = api.client.post("/api/v1/import", content=body,
                             headers=api.headers | {"Content-Type": "application/x-ndjson"})
    # Blank as the import reads a line: decoded, and only whitespace.
    numbers = [number for number, raw in enumerate(body.splitlines(), start=1)
               if raw.decode("utf-8", errors="replace").strip()]
    if not body.strip():  # empty as the document says: ASCII whitespace only
        assert answer.status_code == 400, answer.text
        return
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [result["line"] for result in report["results"]] == numbers
    assert report["imported"] + report["failed"] == len(numbers)
    for result in report["results"]:
        assert result["status"] in {"created", "updated", "error"}
        assert (result["status"] == "error") == bool(result.get("errors"))
    stored = {}
    for number, line in enumerate(lines, start=1):
        if isinstance(line, tuple):
            resource, external_id, name, _ = line
            result = next(r for r in report["results"] if r["line"] == number)
            assert result["status"] in {"created", "updated"}, result
            stored[resource, external_id] = name
    # Read below HTTP, where the import wrote them.
    with session_scope(api.client.app.state.engine) as session:
        for (resource, external_id), name in stored.items():
            assert sync.get_one(session, "demo", resource, external_id)["name"] == name
