"""Helpers for the progress stories: a family whose child is booked on two programmes, the
first with two levels of three skills, and the provider's assessments and notes."""

from __future__ import annotations

SCALE = ["Introduced", "Developing", "Refining", "Achieved"]
SKILLS = [{"id": "float", "name": "Floats on back"}, {"id": "glide", "name": "Push and glide"},
          {"id": "bubbles", "name": "Blows bubbles"}]


def push_family(api, key: str, email: str, child: str, *, levels: bool = True) -> dict:
    """A family whose child has two bookings (two programmes) with past sessions; the first
    programme has two levels of three skills."""
    ids = {"client": f"{key}-client", "child": f"{key}-child", "booking": f"{key}-b1",
           "other": f"{key}-b2", "place": f"{key}-t1", "later": f"{key}-t2"}
    puts = [
        ("clients", ids["client"], {"email": email, "name": f"Parent {key.upper()}"}),
        ("attendees", ids["child"], {"client_id": ids["client"], "name": child}),
        ("programmes", f"{key}-p1", {"name": f"Swim {key.upper()}", "venue": "Pool"}),
        ("programmes", f"{key}-p2", {"name": f"Dance {key.upper()}", "venue": "Hall"}),
        ("sessions", f"{key}-s1", {"programme_id": f"{key}-p1",
                                   "starts_at": "2026-11-14T09:00:00Z",
                                   "ends_at": "2026-11-14T09:45:00Z"}),
        ("sessions", f"{key}-s2", {"programme_id": f"{key}-p1",
                                   "starts_at": "2026-11-21T09:00:00Z",
                                   "ends_at": "2026-11-21T09:45:00Z"}),
        ("sessions", f"{key}-s3", {"programme_id": f"{key}-p2",
                                   "starts_at": "2026-11-20T16:00:00Z",
                                   "ends_at": "2026-11-20T17:00:00Z"}),
        ("bookings", ids["booking"], {"client_id": ids["client"], "attendee_id": ids["child"],
                                      "programme_id": f"{key}-p1"}),
        ("bookings", ids["other"], {"client_id": ids["client"], "attendee_id": ids["child"],
                                    "programme_id": f"{key}-p2"}),
        ("attendance", ids["place"], {"booking_id": ids["booking"], "session_id": f"{key}-s1",
                                      "status": "attended"}),
        ("attendance", ids["later"], {"booking_id": ids["booking"], "session_id": f"{key}-s2",
                                      "status": "attended"}),
        ("attendance", f"{key}-t3", {"booking_id": ids["other"], "session_id": f"{key}-s3",
                                     "status": "attended"}),
    ]
    if levels:
        puts += [
            ("levels", f"{key}-l1", {"programme_id": f"{key}-p1", "name": f"Tadpoles {key}",
                                     "position": 1, "skills": SKILLS, "scale": SCALE}),
            ("levels", f"{key}-l2", {"programme_id": f"{key}-p1", "name": f"Frogs {key}",
                                     "position": 2, "skills": SKILLS[:2], "scale": SCALE}),
            ("levels", f"{key}-d1", {"programme_id": f"{key}-p2", "name": f"Ballet {key}",
                                     "skills": [{"id": "plie", "name": "Plié"}]}),
        ]
    for resource, external_id, body in puts:
        response = api.put(resource, external_id, body)
        assert response.status_code == 201, (resource, response.text)
    return ids


def assess(api, key: str, external_id: str, level: str, skill: str, rating: int, day: str,
           **extra) -> None:
    response = api.put("assessments", external_id, {
        "attendee_id": f"{key}-child", "level_id": level, "skill": skill, "rating": rating,
        "assessed_on": day, **extra})
    assert response.status_code == 201, response.text


def note(api, external_id: str, place: str, text: str, **extra) -> None:
    response = api.put("session-notes", external_id, {"attendance_id": place, "text": text,
                                                      **extra})
    assert response.status_code == 201, response.text
