"""A family's answer to an offer is theirs: what a provider's write may change of an offer.

Only the portal writes the answer (status `accepted` or `declined`, the chosen option, the
reason, when and by whom). A provider's PUT or import of the offer replaces everything else,
its options too (the answer names the chosen option by its key), keeps the answer, and may not
withdraw an answered offer. An offer that expired opens again only with a deadline that has not
passed where the provider is. Withdrawing an offer the family could still answer is news to
them: they get one e-mail, in the write's transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from sqlmodel import Session

from widget_server.core.errors import Conflict, field_error
from widget_server.core.wire import jsonable
from widget_server.delivery.notices import Notices
from widget_server.selfservice import offer_notices

ANSWERED = ("accepted", "declined")
# The PUT's 409, as the OpenAPI document states it.
ANSWERED_OFFER = ("The family already accepted or declined the offer, so it can no longer be "
                  "withdrawn")


def keep_the_answer(stored: Mapping[str, Any], columns: dict[str, Any], today: date) -> None:
    """Keep the family's answer, and an expiry that the new deadline does not lift; refuse to
    withdraw an answered offer. `today` is the tenant's date."""
    status = stored["status"]
    if status in ANSWERED:
        if columns["status"] == "withdrawn":
            on = f" on {jsonable(stored['answered_at'])}" if stored.get("answered_at") else ""
            raise Conflict(
                f"offer {stored['external_id']!r} was already {status} by the family{on}; "
                "an answered offer cannot be withdrawn.",
                errors=[field_error(["status"], f"the family already {status} the offer{on}")])
        columns["status"] = status
    elif status == "expired" and columns["status"] == "open" and columns["deadline"] < today:
        columns["status"] = "expired"


def withdraws_an_open_offer(stored: Mapping[str, Any], columns: dict[str, Any],
                            today: date) -> bool:
    """Whether a write (that `keep_the_answer` let through) takes back an offer the family
    could still answer: open, its deadline not passed. Withdrawing it again is no news."""
    return (stored["status"] == "open" and columns["status"] == "withdrawn"
            and stored["deadline"] >= today)


def tell_withdrawn(session: Session, notices: Notices, offer_ids: list[int]) -> None:
    """E-mail the families of the offers a write withdrew."""
    offer_notices.withdrawn(session, notices, offer_ids)
