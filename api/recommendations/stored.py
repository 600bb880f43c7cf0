"""A recommendation answered earlier, read back from the audit log, and shown in any language.

The audit log keeps what was answered: the ranked services, the reference
and the services not offered, with names and texts in the language that was
asked, and the client's decision-point features. `stored_answer` gives it
back as it was answered. `localised` writes it again in another language
for a person to read (the console, the client's explanation): names and
descriptions from the catalogue of the model that answered when that model
is still served (else the served catalogue, else the stored names), the
explanation sentences from their features and values, and the reasons a
service is not offered from the rule and the stored features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine

from api.auth import Caller
from api.decisions.service import visible_unit
from api.problems import Problem
from api.serving import LoadedModel
from api.storage.audit import AuditEvent, get_audit_event
from api.storage.engine import read_transaction
from model.catalogue import Service
from model.explain import SERVICE_FIELD, describe, format_value

NOT_FOUND = "no recommendation with this request_id in your unit"


def find_event(engine: Engine, request_id: str, caller: Caller) -> AuditEvent:
    """The audit event of `request_id` if the caller's unit may see it; 404 otherwise."""
    with read_transaction(engine) as connection:
        event = get_audit_event(connection, request_id=request_id)
    scope = visible_unit(caller)
    if event is None or (scope is not None and event.unit != scope):
        raise Problem(404, "not-found", "Not found", NOT_FOUND)
    return event


def stored_answer(event: AuditEvent) -> dict[str, Any]:
    """What was answered, as POST /v1/recommendations answered it, with when and in which language."""
    output = event.output
    return {
        "request_id": event.request_id,
        "model": {"name": event.model_name, "version": event.model_version},
        "as_of": event.as_of.isoformat(),
        "recommendations": [_as_answered(s) for s in output["recommendations"]],
        "reference": _as_answered(output["reference"]),
        "not_eligible": [{**NO_SEATS, **n} for n in output["not_eligible"]],
        "answered_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "language": event.language,
        "k": event.k,
    }


# Answers written before the seats were shown have none.
NO_SEATS: Final = {"seats_left_this_month": None, "expected_wait_days_now": None}


def _as_answered(scored: dict[str, Any]) -> dict[str, Any]:
    # answers written before value_text existed have none
    return {
        **NO_SEATS,
        **scored,
        "explanation": [{"value_text": None, **c} for c in scored["explanation"]],
    }


@dataclass(frozen=True)
class ServiceWords:
    name: str
    description: str | None
    expected_wait_days: int | None


class Localiser:
    """Names, sentences and reasons of one stored answer in `language`."""

    def __init__(self, event: AuditEvent, language: str, model: LoadedModel | None) -> None:
        self.event = event
        self.language = language
        self.model = model
        self.same_model = (
            model is not None
            and model.name == event.model_name
            and model.version == event.model_version
        )
        output = event.output
        self.stored_names = {
            s["service"]: s["name"] for s in [*output["recommendations"], output["reference"]]
        }
        self.names = {code: self.service(code).name for code in self._codes()}

    def _codes(self) -> list[str]:
        output = self.event.output
        return list(
            output.get("actions")
            or [
                *(s["service"] for s in output["recommendations"]),
                output["reference"]["service"],
                *(n["service"] for n in output["not_eligible"]),
            ]
        )

    def _catalogue_service(self, code: str) -> Service | None:
        if self.model is None:
            return None
        catalogue = self.model.router.catalogue
        return catalogue.get(code) if code in catalogue else None

    def service(self, code: str) -> ServiceWords:
        service = self._catalogue_service(code)
        if service is not None:
            return ServiceWords(
                service.name[self.language],
                service.description[self.language],
                service.expected_wait_days,
            )
        stored = self.stored_names.get(code) if self.event.language == self.language else None
        return ServiceWords(stored or code.replace("_", " "), None, None)

    def sentences(self, scored: dict[str, Any]) -> list[dict[str, Any]]:
        """The explanation of one scored service: a sentence and the value in words for each."""
        out = []
        for entry in scored["explanation"]:
            feature, value = entry["feature"], entry["value"]
            out.append(
                {
                    **entry,
                    "text": describe(
                        feature, value, entry["contribution"], self.language, self.names
                    ),
                    "value_text": None
                    if feature == SERVICE_FIELD
                    else format_value(feature, value, self.language, self.names),
                }
            )
        return out

    def reasons(self) -> list[dict[str, str]]:
        """Services not offered, each with its reason in `language` when it can be written."""
        out = []
        router = self.model.router if self.model is not None and self.same_model else None
        for entry in self.event.output["not_eligible"]:
            code = entry["service"]
            reason = entry["reason"]  # in the language first asked, when it cannot be rewritten
            if router is not None:
                j = router.actions.index(code)
                reason = router.ineligibility_reason(j, self.event.features, self.language)
            out.append({"service": code, "name": self.names.get(code, code), "reason": reason})
        return out
