"""The e-mails the profile sends besides the login one: written in the reader's language from
`templates/email/<name>.txt` and `.html`, and queued in the outbox with the action's
transaction, so an e-mail goes out only if what it tells about really happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from jinja2 import Environment
from sqlmodel import Session, select

from widget_server.core import i18n
from widget_server.core.models import Client, OutboxMessage
from widget_server.core.profile_url import profile_url
from widget_server.core.settings import Settings
from widget_server.core.signing import Signer
from widget_server.core.tenants import Tenant
from widget_server.delivery import outbox


@dataclass(frozen=True)
class Notices:
    """Writes one tenant's e-mails; built per request from the app's shared pieces."""

    env: Environment
    settings: Settings
    signer: Signer
    tenant: Tenant

    @classmethod
    def of(cls, app: Any, tenant: Tenant) -> "Notices":
        state = app.state
        return cls(state.templates.env, state.settings, state.signer, tenant)

    def profile_url(self, email: str | None = None) -> str:
        """WIDGET_PROFILE_URL for this reader: their login form, pre-filled with `email`."""
        return profile_url(self.settings, self.signer, self.tenant, email=email)

    def compose(self, template: str, locale: str | None, subject: Callable[[], str],
                **context: Any) -> dict[str, str]:
        """Subject, text and HTML of e-mail `template` in `locale` (else the tenant's language).

        `subject` is called once the language is active, so it can use gettext."""
        i18n.activate(i18n.normalise(locale, self.tenant.config.locale))
        context = {"tenant": self.tenant, "theme": self.tenant.config.theme, **context}
        context.setdefault("WIDGET_PROFILE_URL", self.profile_url(context.get("reader")))
        return {
            "subject": subject(),
            "text": self.env.get_template(f"email/{template}.txt").render(context),
            "html": self.env.get_template(f"email/{template}.html").render(context),
        }

    def send(self, db: Session, to: str, template: str, locale: str | None,
             subject: Callable[[], str], *, client_id: int | None = None,
             **context: Any) -> OutboxMessage:
        """Compose e-mail `template` for `to` and queue it in the caller's transaction.

        `client_id` is the client it is about, for their delivery log; without it, the
        tenant's client with the address `to`, if any."""
        letter = self.compose(template, locale, subject, reader=to, **context)
        if client_id is None:
            client_id = self.client_with(db, to)
        return outbox.enqueue_email(db, self.tenant, to=to, kind=template, client_id=client_id,
                                    **letter)

    def client_with(self, db: Session, email: str) -> int | None:
        """The row id of the tenant's client with this address (one unique-index lookup)."""
        return db.exec(select(Client.id).where(Client.tenant == self.tenant.slug,
                                               Client.email == email.strip().lower())).first()
