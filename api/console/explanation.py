"""The client's explanation of a suggestion (EU AI Act Art. 86, GDPR Art. 15), for print.

It tells the client in plain words what was suggested, the facts about them
that counted most, that a caseworker decided and what, and how to ask for a
review; no scores and no model internals. The words are in
templates/explanation/<language>.html, so that a municipality can change
them or add a language; this module gathers what they fill in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup
from sqlalchemy import Engine

from api.console.locale import words
from api.console.pages import HELSINKI, day, environment
from api.recommendations.stored import Localiser, ServiceWords
from api.serving import LoadedModel
from api.storage.audit import AuditEvent
from api.storage.decisions import DecisionRow, list_decisions
from api.storage.engine import read_transaction
from model.explain import SELECTION_FIELD, SERVICE_FIELD, field_label, format_value

MAX_FACTS: Final = 3


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Decided:
    chosen: ServiceWords
    decided_on: str
    follows: bool
    reason: str | None
    corrected: bool


@dataclass(frozen=True)
class ClientExplanation:
    language: str
    reference: str
    unit: str
    answered_on: str
    suggested: ServiceWords
    facts: list[Fact]
    decision: Decided | None


def decisions_on(engine: Engine, event: AuditEvent) -> list[DecisionRow]:
    """Every decision on the event's recommendation, oldest first."""
    with read_transaction(engine) as connection:
        return list_decisions(connection, unit=event.unit, request_id=event.request_id, limit=500)


def client_explanation(
    event: AuditEvent,
    decisions: Sequence[DecisionRow],
    language: str,
    model: LoadedModel | None,
) -> ClientExplanation:
    localiser = Localiser(event, language, model)
    first = event.output["recommendations"][0]
    facts = [
        Fact(
            field_label(entry["feature"], language, localiser.names),
            format_value(entry["feature"], entry["value"], language, localiser.names),
        )
        for entry in first["explanation"]
        # Facts about the client: not the service's own share nor the correction for selection.
        if entry["feature"] not in (SERVICE_FIELD, SELECTION_FIELD)
    ][:MAX_FACTS]
    decision = None
    if decisions:
        latest = decisions[-1]
        decision = Decided(
            chosen=localiser.service(latest.chosen_service),
            decided_on=day(latest.created_at.astimezone(HELSINKI).date(), language),
            follows=latest.chosen_service == latest.recommended_service,
            reason=words(language)(f"reasons.{latest.reason_code}") if latest.reason_code else None,
            corrected=latest.corrects is not None,
        )
    return ClientExplanation(
        language=language,
        reference=event.request_id,
        unit=event.unit,
        answered_on=day(event.created_at.astimezone(HELSINKI).date(), language),
        suggested=localiser.service(first["service"]),
        facts=facts,
        decision=decision,
    )


def explanation_text(document: ClientExplanation) -> Markup:
    """The explanation's words in its language (templates/explanation/<language>.html)."""
    template = environment.get_template(f"explanation/{document.language}.html")
    return Markup(template.render(doc=document))
