"""A provider's system sends children's progress (issue 15): the levels of a programme with
their skills and rating scale, each child's assessments on those skills, and instructors'
notes on a session. Each is a sync resource like any other: written, read, listed, imported
and deleted by the provider's ids, checked field by field, never reaching another tenant."""

from __future__ import annotations

import json

import jsonschema
import pytest
from samples import load_base

from widget_server.api import bulk_import
from widget_server.api.bulk_import import WRITE_ORDER
from widget_server.api.openapi import document

LEVEL = {"programme_id": "p1", "name": "Dolphins 2", "position": 2,
         "description": "Swims a width without help",
         "skills": [{"id": "kick", "name": "Kicks from the hips"},
                    {"id": "breathe", "name": "Breathes to the side"},
                    {"id": "width", "name": "Swims a width"}],
         "scale": ["Not yet", "Nearly", "Got it"]}
ASSESSMENT = {"attendee_id": "a1", "level_id": "lv2", "skill": "kick", "rating": 3,
              "assessed_on": "2026-12-12", "assessor": "Coach Amy",
              "note": "Strong kick, keeps the legs straight"}
NOTE = {"attendance_id": "at1", "text": "Oliver swam his first width today!\n\nWell done.",
        "author": "Coach Amy", "visibility": "family", "written_at": "2026-12-05T10:05:00Z"}


def errors_of(response) -> dict[str, str]:
    """The refusal's errors, field -> reason."""
    assert response.status_code == 422, response.text
    return {error["field"]: error["reason"] for error in response.json()["errors"]}


@pytest.fixture
def school(api):
    """A provider with the sample family (Oliver, booked on Dolphins, one session's place)."""
    load_base(api)
    return api


# --- writing, reading, listing ----------------------------------------------------------------

@pytest.mark.parametrize("resource,external_id,body", [
    ("levels", "lv2", LEVEL), ("assessments", "as2", ASSESSMENT), ("session-notes", "sn2", NOTE)])
def test_the_provider_writes_an_item_and_reads_back_what_it_wrote(school, resource,
                                                                  external_id, body):
    school.put("levels", "lv2", LEVEL)
    written = school.put(resource, external_id, body)
    assert written.status_code in (200, 201), written.text
    assert written.json() == {"id": external_id, **body}
    assert school.get(resource, external_id).json() == written.json()
    listed = school.get(resource, limit=1000).json()["items"]
    assert written.json() in listed


def test_a_level_without_a_scale_gets_the_usual_four_labels_and_notes_default_to_family(school):
    level = school.put("levels", "lv2", {"programme_id": "p1", "name": "Dolphins 2"}).json()
    assert level["scale"] == ["Introduced", "Developing", "Refining", "Achieved"]
    assert level["skills"] == [] and level["position"] == 0
    note = school.put("session-notes", "sn2", {"attendance_id": "at1", "text": "Good lesson"})
    assert note.json()["visibility"] == "family"
    assert note.json()["written_at"] is None


def test_a_programmes_levels_list_in_pages(school):
    for n in range(5):
        school.put("levels", f"lv-{n}", LEVEL | {"name": f"Level {n}", "position": n})
    seen, cursor = [], None
    while True:
        page = school.get("levels", limit=2, **({"cursor": cursor} if cursor else {})).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["lv1", "lv-0", "lv-1", "lv-2", "lv-3", "lv-4"]


def test_an_assessment_outlives_a_skill_the_level_drops_and_may_rate_past_the_scale(school):
    """The provider renames its curriculum and rates on its own terms: nothing it sent is
    refused for it, the portal decides what to show (a dropped skill's rating is not shown,
    a rating past the scale counts as achieved)."""
    school.put("levels", "lv2", LEVEL)
    assert school.put("assessments", "as2", ASSESSMENT | {"rating": 10}).status_code == 201
    fewer = LEVEL | {"skills": LEVEL["skills"][1:], "scale": ["Started", "Achieved"]}
    assert school.put("levels", "lv2", fewer).status_code == 200
    assessment = school.get("assessments", "as2").json()
    assert assessment["skill"] == "kick" and assessment["rating"] == 10


def test_a_staff_note_is_written_and_changed_like_a_family_note(school):
    school.put("session-notes", "sn2", NOTE)
    staff = school.put("session-notes", "sn2", NOTE | {"visibility": "staff",
                                                       "text": "Mum asked about Dolphins 3"})
    assert staff.status_code == 200
    assert school.get("session-notes", "sn2").json()["visibility"] == "staff"


# --- what is refused ------------------------------------------------------------------------

def test_a_skill_id_used_twice_in_a_level_is_refused_naming_it(school):
    skills = LEVEL["skills"] + [{"id": "kick", "name": "Kicks again"}]
    reasons = errors_of(school.put("levels", "lv2", LEVEL | {"skills": skills}))
    assert list(reasons) == ["skills"]
    assert "'kick' is listed twice" in reasons["skills"]
    assert "skills.0 and skills.3" in reasons["skills"]
    assert school.get("levels", "lv2").status_code == 404


@pytest.mark.parametrize("scale,field", [
    (["Achieved"], "scale"),
    ([], "scale"),
    ([f"Step {n}" for n in range(11)], "scale"),
    (["Started", "Started"], "scale"),
    (["Started", " "], "scale.1"),
    (["Started", "x" * 61], "scale.1"),
], ids=["one-label", "none", "eleven", "repeated", "blank", "too-long"])
def test_a_scale_needs_two_to_ten_distinct_labels(school, scale, field):
    assert list(errors_of(school.put("levels", "lv2", LEVEL | {"scale": scale}))) == [field]


@pytest.mark.parametrize("change,field", [
    ({"rating": 0}, "rating"),
    ({"rating": 11}, "rating"),
    ({"rating": "3"}, "rating"),
    ({"assessed_on": 20261212}, "assessed_on"),
    ({"skill": "kick legs"}, "skill"),
    ({"note": "x" * 2001}, "note"),
    ({"grade": "A"}, "grade"),
], ids=["rating-0", "rating-11", "rating-as-text", "date-as-number", "skill-not-an-id",
        "long-note", "unknown-field"])
def test_an_assessment_is_refused_naming_the_field(school, change, field):
    school.put("levels", "lv2", LEVEL)
    assert list(errors_of(school.put("assessments", "as2", ASSESSMENT | change))) == [field]
    assert school.get("assessments", "as2").status_code == 404


@pytest.mark.parametrize("resource,body,field,target", [
    ("levels", LEVEL | {"programme_id": "p9"}, "programme_id", "programmes"),
    ("assessments", ASSESSMENT | {"attendee_id": "a9"}, "attendee_id", "attendees"),
    ("assessments", ASSESSMENT | {"level_id": "lv9"}, "level_id", "levels"),
    ("session-notes", NOTE | {"attendance_id": "at9"}, "attendance_id", "attendance"),
])
def test_a_reference_to_an_item_not_stored_is_refused_naming_it(school, resource, body, field,
                                                                 target):
    school.put("levels", "lv2", LEVEL)
    missing = body[field]
    assert errors_of(school.put(resource, "new", body)) == {
        field: f"no {target} item with id {missing!r}"}


@pytest.mark.parametrize("change,field", [
    ({"visibility": "secret"}, "visibility"),
    ({"text": ""}, "text"),
    ({"text": "   "}, "text"),
    ({"text": "x" * 5001}, "text"),
    ({"text": "Bell\x07"}, "text"),
    ({"written_at": "2026-12-05T10:05:00"}, "written_at"),
], ids=["secret", "empty", "blank", "too-long", "control-character", "no-time-zone"])
def test_a_session_note_is_refused_naming_the_field(school, change, field):
    assert list(errors_of(school.put("session-notes", "sn2", NOTE | change))) == [field]


def test_a_levels_unknown_field_and_bad_skill_are_named(school):
    reasons = errors_of(school.put("levels", "lv2", LEVEL | {
        "colour": "blue", "skills": [{"id": "kick", "name": ""}, {"id": "a b", "name": "B"}]}))
    assert set(reasons) == {"colour", "skills.0.name", "skills.1.id"}
    assert reasons["colour"] == "unknown field"


# --- another tenant -----------------------------------------------------------------------------

def test_another_provider_can_neither_read_nor_reference_a_level_or_a_session_place(school):
    school.put("levels", "lv2", LEVEL)
    school.put("assessments", "as2", ASSESSMENT)
    school.put("session-notes", "sn2", NOTE)
    other = school.as_tenant("demo-sk")
    for resource, external_id in [("levels", "lv2"), ("assessments", "as2"),
                                  ("session-notes", "sn2")]:
        assert other.get(resource, external_id).status_code == 404
        assert other.delete(resource, external_id).status_code == 404
        assert other.get(resource).json()["items"] == []
    # Its own child, but the first provider's level and session place.
    other.put("clients", "c1", {"email": "rodic@example.com", "name": "Rodič"})
    other.put("attendees", "a1", {"client_id": "c1", "name": "Peter"})
    assert errors_of(other.put("assessments", "as2", ASSESSMENT)) == {
        "level_id": "no levels item with id 'lv2'"}
    assert errors_of(other.put("session-notes", "sn2", NOTE)) == {
        "attendance_id": "no attendance item with id 'at1'"}
    assert school.get("assessments", "as2").json() == {"id": "as2", **ASSESSMENT}
    assert school.get("session-notes", "sn2").json() == {"id": "sn2", **NOTE}


# --- the bulk import ----------------------------------------------------------------------------

def import_lines() -> list[dict]:
    """A term's progress in one file: a new programme and its level, assessments and notes,
    with a line that names a level only a later line writes, and bad lines between."""
    return [
        {"resource": "programmes", "item": {"id": "p2", "name": "Sharks"}},
        {"resource": "assessments", "item": {"id": "as-early", **ASSESSMENT,
                                             "level_id": "lv-sharks"}},
        {"resource": "levels", "item": {"id": "lv-sharks", **LEVEL, "programme_id": "p2"}},
        {"resource": "assessments", "item": {"id": "as2", **ASSESSMENT,
                                             "level_id": "lv-sharks"}},
        {"resource": "assessments", "item": {"id": "as3", **ASSESSMENT, "rating": 0}},
        {"resource": "levels", "item": {"id": "lv-bad", **LEVEL, "scale": ["Done"]}},
        {"resource": "session-notes", "item": {"id": "sn2", **NOTE}},
        {"resource": "session-notes", "item": {"id": "sn3", **NOTE, "visibility": "secret"}},
        {"resource": "levels", "item": {"id": "lv-sharks", **LEVEL, "programme_id": "p2",
                                        "name": "Sharks 1"}},
    ]


def test_an_import_answers_each_progress_line_as_its_own_put_would(school, monkeypatch):
    # Levels are written after programmes, assessments after levels and attendees, notes
    # after attendance: the batch's set write succeeds without redoing it line by line.
    assert WRITE_ORDER.index("programmes") < WRITE_ORDER.index("levels") \
        < WRITE_ORDER.index("assessments") > WRITE_ORDER.index("attendees")
    assert WRITE_ORDER.index("attendance") < WRITE_ORDER.index("session-notes")
    monkeypatch.setattr(bulk_import, "_upsert_line", None)
    report = school.import_ndjson("".join(json.dumps(line) + "\n" for line in import_lines()))
    assert report.status_code == 200
    answers = [(r["line"], r["status"], r["id"], [e["field"] for e in r.get("errors", [])])
               for r in report.json()["results"]]
    assert answers == [
        (1, "created", "p2", []),
        (2, "error", "as-early", ["item.level_id"]),  # its level comes two lines later
        (3, "created", "lv-sharks", []),
        (4, "created", "as2", []),
        (5, "error", "as3", ["item.rating"]),
        (6, "error", "lv-bad", ["item.scale"]),
        (7, "created", "sn2", []),
        (8, "error", "sn3", ["item.visibility"]),
        (9, "updated", "lv-sharks", []),
    ]

    # The same lines, one PUT each, to a provider with the same family: the same answers
    # and the same items stored.
    other = school.as_tenant("demo-sk")
    load_base(other)
    one_by_one = []
    for line in import_lines():
        item = dict(line["item"])
        answer = other.put(line["resource"], item.pop("id"), item)
        one_by_one.append({201: "created", 200: "updated"}.get(answer.status_code, "error"))
    assert one_by_one == [status for _, status, _, _ in answers]
    for resource in ("programmes", "levels", "assessments", "session-notes"):
        assert school.get(resource).json() == other.get(resource).json()
    assert school.get("levels", "lv-sharks").json()["name"] == "Sharks 1"


# --- deleting -----------------------------------------------------------------------------------

def test_a_level_with_assessments_is_not_deleted_and_nothing_is_lost(school):
    school.put("levels", "lv2", LEVEL)
    school.put("assessments", "as2", ASSESSMENT)
    refused = school.delete("levels", "lv2")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "'lv2' is still referenced" in refused.json()["detail"]
    assert school.get("levels", "lv2").json() == {"id": "lv2", **LEVEL}
    assert school.get("assessments", "as2").json() == {"id": "as2", **ASSESSMENT}
    # Once its assessments are gone, the level goes.
    assert school.delete("assessments", "as2").status_code == 204
    assert school.delete("levels", "lv2").status_code == 204
    assert school.get("levels", "lv2").status_code == 404


def test_what_progress_refers_to_is_not_deleted_under_it(school):
    """A programme with a level, a child with an assessment, a session place with a note:
    each stays until its progress is deleted first."""
    school.put("programmes", "p2", {"name": "Sharks"})
    school.put("levels", "lv-sharks", LEVEL | {"programme_id": "p2"})
    school.put("attendees", "a2", {"client_id": "c1", "name": "Mia"})
    school.put("assessments", "as-mia", ASSESSMENT | {"attendee_id": "a2",
                                                      "level_id": "lv-sharks"})
    school.put("attendance", "at2", {"booking_id": "b1", "session_id": "s1"})
    school.put("session-notes", "sn2", NOTE | {"attendance_id": "at2"})
    referred = [("programmes", "p2"), ("attendees", "a2"), ("attendance", "at2")]
    for resource, external_id in referred:
        assert school.delete(resource, external_id).status_code == 409, resource
        assert school.get(resource, external_id).status_code == 200
    for resource, external_id in [("session-notes", "sn2"), ("assessments", "as-mia"),
                                  ("levels", "lv-sharks"), *referred]:
        assert school.delete(resource, external_id).status_code == 204, resource
        assert school.get(resource, external_id).status_code == 404


# --- the OpenAPI document -----------------------------------------------------------------------

def test_the_document_states_the_rules_a_provider_needs(client):
    served = client.get("/api/v1/openapi.json").json()
    assert served == document()
    schemas = served["components"]["schemas"]
    scale = schemas["LevelIn"]["properties"]["scale"]
    assert "the last one means the skill is achieved" in scale["description"]
    assert scale["minItems"] == 2 and scale["maxItems"] == 10 and scale["uniqueItems"]
    assert "at most once" in schemas["LevelIn"]["properties"]["skills"]["description"]
    rating = schemas["AssessmentIn"]["properties"]["rating"]
    assert (rating["minimum"], rating["maximum"]) == (1, 10)
    assert "first scale label" in rating["description"]
    assert "no longer lists" in schemas["AssessmentIn"]["properties"]["skill"]["description"]
    visibility = schemas["SessionNoteIn"]["properties"]["visibility"]
    assert visibility["enum"] == ["family", "staff"]
    assert "never shown to families" in visibility["description"]
    for resource, body in [("levels", LEVEL), ("assessments", ASSESSMENT),
                           ("session-notes", NOTE)]:
        put = served["paths"][f"/api/v1/{resource}/{{external_id}}"]["put"]
        schema = {"components": served["components"],
                  **put["requestBody"]["content"]["application/json"]["schema"]}
        jsonschema.validate(body, schema)
        assert "409" in served["paths"][f"/api/v1/{resource}/{{external_id}}"]["delete"][
            "responses"]
