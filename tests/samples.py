"""A small valid graph of every resource, in dependency order, for API tests."""

from __future__ import annotations

import base64

PDF = base64.b64encode(b"%PDF-1.4\n% test invoice\n%%EOF\n").decode()

BASE: list[tuple[str, str, dict]] = [
    ("clients", "c1", {"email": "sarah@example.com", "name": "Sarah Thompson",
                       "phone": "+44 7700 900123", "locale": "en-GB"}),
    ("attendees", "a1", {"client_id": "c1", "name": "Oliver", "birth_date": "2019-03-02"}),
    ("programmes", "p1", {"name": "Dolphins", "venue": "Harbour Leisure Centre", "price": 9600,
                          "currency": "GBP", "makeup_policy": "same_programme",
                          "addons": [{"id": "towel", "name": "Towel hire", "price": 150}]}),
    ("sessions", "s1", {"programme_id": "p1", "starts_at": "2026-12-05T09:00:00Z",
                        "ends_at": "2026-12-05T09:45:00Z", "capacity": 8}),
    ("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1",
                        "price": 9600, "currency": "GBP", "addons": ["towel"]}),
    ("attendance", "at1", {"booking_id": "b1", "session_id": "s1", "status": "expected"}),
    ("makeup-credits", "mc1", {"client_id": "c1", "attendee_id": "a1",
                               "source_attendance_id": "at1",
                               "expires_at": "2027-01-31T23:59:00Z"}),
    ("orders", "o1", {"client_id": "c1", "ordered_at": "2026-11-01T10:00:00Z", "currency": "GBP",
                      "promo_code": "SPLASH10", "discount_amount": 100,
                      "items": [{"name": "Swim cap", "kind": "product", "quantity": 2,
                                 "unit_price": 500, "vat_rate": "20", "vat_amount": 167}]}),
    ("payments", "pay1", {"client_id": "c1", "booking_id": "b1", "amount": 9600,
                          "currency": "GBP", "due_date": "2026-12-01", "status": "unpaid"}),
    ("invoices", "inv1", {"client_id": "c1", "payment_id": "pay1", "number": "INV-1",
                          "issue_date": "2026-11-02", "amount": 9600, "currency": "GBP",
                          "pdf_base64": PDF}),
    ("entry-passes", "ep1", {"client_id": "c1", "attendee_id": "a1", "order_id": "o1",
                             "name": "10-visit pass", "total_entries": 10, "used_entries": 1,
                             "valid_until": "2027-03-01",
                             "uses": [{"used_at": "2026-11-10T09:00:00Z", "session_id": "s1",
                                       "note": "Saturday swim"}]}),
    ("discounts", "d1", {"client_id": "c1", "name": "Sibling discount", "kind": "percent",
                         "value": 10, "valid_until": "2027-06-30"}),
    ("credits", "cr1", {"client_id": "c1", "amount": 5000, "currency": "GBP",
                        "occurred_at": "2026-10-01T12:00:00Z", "description": "Top-up"}),
    ("shares", "sh1", {"booking_id": "b1", "email": "grandma@example.com",
                       "relation": "grandparent", "access": "view"}),
    ("levels", "lv1", {"programme_id": "p1", "name": "Dolphins 1", "position": 1,
                       "description": "Confidence in deep water",
                       "skills": [{"id": "float", "name": "Floats on back"},
                                  {"id": "glide", "name": "Push and glide"}],
                       "scale": ["Introduced", "Developing", "Refining", "Achieved"]}),
    ("assessments", "as1", {"attendee_id": "a1", "level_id": "lv1", "skill": "float",
                            "rating": 2, "assessed_on": "2026-12-05", "assessor": "Coach Amy",
                            "note": "Needs a noodle for now"}),
    ("session-notes", "sn1", {"attendance_id": "at1", "author": "Coach Amy",
                              "text": "Great kicking today.\nBring goggles next week.",
                              "visibility": "family", "written_at": "2026-12-05T10:00:00Z"}),
    ("report-cards", "rc1", {"attendee_id": "a1", "level_id": "lv1", "term": "Autumn 2026",
                             "comment": "A lovely term.\nNext: gliding.",
                             "instructor": "Coach Amy", "published": True}),
    ("offers", "of1", {"client_id": "c1", "attendee_id": "a1", "booking_id": "b1",
                       "level_id": "lv1", "kind": "move_up", "title": "Dolphins 1 in spring",
                       "message": "Oliver is ready for Dolphins 1.\nKeep his place by Friday.",
                       "deadline": "2026-12-18", "hold_places": True, "pay_on_accept": False,
                       "status": "open",
                       "options": [{"key": "sat", "label": "Saturdays 9:00, Harbourside",
                                    "programme_id": "p1", "first_session_id": "s1",
                                    "sessions": 10, "price": 9600, "currency": "GBP",
                                    "discount": 960},
                                   {"key": "wed", "label": "Wednesdays 16:30",
                                    "programme_id": "p1", "first_session_id": None,
                                    "sessions": None, "price": None, "currency": None,
                                    "discount": 0}]}),
]

# For each resource: a fresh item (nothing references it) and one field to change.
FRESH: dict[str, tuple[str, dict, tuple[str, object]]] = {
    resource: (f"{external_id}-new", _body, change)
    for (resource, external_id, _body), change in zip(
        [(r, i, dict(b)) for r, i, b in BASE],
        [("name", "Sarah T."), ("name", "Ollie"), ("name", "Dolphins 2"), ("capacity", 9),
         ("status", "cancelled"), ("status", "attended"), ("expires_at", "2027-02-28T23:59:00Z"),
         ("status", "paid"), ("status", "paid"), ("number", "INV-2"), ("used_entries", 2),
         ("value", 15), ("amount", -1200), ("access", "full"), ("position", 2), ("rating", 4),
         ("visibility", "staff"), ("published", False), ("status", "withdrawn")],
        strict=True,
    )
}
FRESH["clients"][1]["email"] = "other@example.com"


def load_base(api) -> None:
    for resource, external_id, body in BASE:
        response = api.put(resource, external_id, body)
        assert response.status_code == 201, (resource, response.text)


# Documents are written as files, not JSON: (id, fields, (file name, bytes)), after BASE.
DOCUMENTS: list[tuple[str, dict, tuple[str, bytes]]] = [
    ("doc1", {"title": "Spring term letter", "audience": "programme", "programme_id": "p1"},
     ("letter.pdf", b"%PDF-1.4\n% Spring term letter\n%%EOF\n")),
    ("doc2", {"title": "Kit list", "audience": "attendee", "attendee_id": "a1"},
     ("kit.txt", "Kit list: goggles, towel, swim cap.\n".encode())),
]


def load_documents(api) -> None:
    """BASE's documents, uploaded as multipart forms (load_base first)."""
    for external_id, fields, (name, content) in DOCUMENTS:
        response = api.client.put(f"/api/v1/documents/{external_id}", data=fields,
                                  files={"file": (name, content)}, headers=api.headers)
        assert response.status_code == 201, response.text
