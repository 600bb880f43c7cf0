"""What the Suggestions page shows of a stored answer, in the caseworker's language.

The chance of work or education is shown as a band a person reads at a
glance and as the estimate with its range; beside it the difference against
continuing the current plan. When the ranges of the first suggestions
overlap that of the first, the page says that they are not clearly
different, so that a rank is not read as more certain than it is.

Beside each ranked service and each one not offered stand its seats left
this month and the wait a client can expect now, as they are when the page
is shown (`api.capacity`), from the served catalogue; a full service is
still suggested as usual, and the caseworker decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from api.capacity import Availability, Seats
from api.recommendations.stored import Localiser
from api.serving import LoadedModel
from api.storage.audit import AuditEvent
from model.vocab import NO_NEW_SERVICE

# Upper ends of the bands of the chance of work or education.
BANDS: Final = ((0.2, "low"), (0.4, "moderate"), (0.6, "fair"), (1.01, "good"))
SHOWN_REASONS: Final = 3
# A service the served catalogue does not have (another model answered): nothing to show.
UNKNOWN: Final = Seats(None, None)


def band(p: float) -> str:
    return next(name for upper, name in BANDS if p < upper)


@dataclass(frozen=True)
class Suggestion:
    service: str
    name: str
    description: str | None
    rank: int | None
    p: float
    low: float
    high: float
    band: str
    uplift: float
    thin_support: bool
    expected_wait_days: int | None
    seats: Seats
    sentences: list[str]

    @property
    def is_reference(self) -> bool:
        return self.service == NO_NEW_SERVICE


@dataclass(frozen=True)
class NotOffered:
    service: str
    name: str
    reason: str
    expected_wait_days: int | None
    seats: Seats


@dataclass(frozen=True)
class SuggestionsPage:
    request_id: str
    client_id: str
    as_of: date
    model: str
    version: str
    answered_at: datetime
    ranked: list[Suggestion]
    reference: Suggestion
    reference_ranked: bool
    not_distinct: int
    not_offered: list[NotOffered]
    names: dict[str, str]
    actions: list[str]


def not_distinct(ranked: list[Suggestion]) -> int:
    """How many leading suggestions have ranges overlapping the first's; 0 when fewer than two."""
    if len(ranked) < 2:
        return 0
    first = ranked[0]
    count = 1
    for suggestion in ranked[1:]:
        if suggestion.high < first.low:
            break
        count += 1
    return count if count >= 2 else 0


def suggestions_page(
    event: AuditEvent, language: str, model: LoadedModel | None, seats: Availability
) -> SuggestionsPage:
    """The page of a stored answer; `seats` as they are now, for the served catalogue's services."""
    localiser = Localiser(event, language, model)
    output = event.output
    by_code = seats.of_catalogue(model.router.catalogue) if model is not None else {}

    def seats_of(code: str) -> Seats:
        return by_code.get(code, UNKNOWN)

    def suggestion(scored: dict[str, Any]) -> Suggestion:
        words = localiser.service(scored["service"])
        low, high = scored["interval"]
        sentences = [entry["text"] for entry in localiser.sentences(scored)][:SHOWN_REASONS]
        return Suggestion(
            service=scored["service"],
            name=words.name,
            description=words.description,
            rank=scored["rank"],
            p=scored["p_outcome"],
            low=low,
            high=high,
            band=band(scored["p_outcome"]),
            uplift=scored["uplift"],
            thin_support=scored["thin_support"],
            expected_wait_days=words.expected_wait_days,
            seats=seats_of(scored["service"]),
            sentences=sentences,
        )

    ranked = [suggestion(scored) for scored in output["recommendations"]]
    reference = suggestion(output["reference"])
    not_offered = [
        NotOffered(
            entry["service"],
            entry["name"],
            entry["reason"],
            localiser.service(entry["service"]).expected_wait_days,
            seats_of(entry["service"]),
        )
        for entry in localiser.reasons()
    ]
    return SuggestionsPage(
        request_id=event.request_id,
        client_id=event.client_id,
        as_of=event.as_of,
        model=event.model_name,
        version=event.model_version,
        answered_at=event.created_at,
        ranked=ranked,
        reference=reference,
        reference_ranked=any(s.is_reference for s in ranked),
        not_distinct=not_distinct(ranked),
        not_offered=not_offered,
        names=localiser.names,
        actions=list(localiser.names),
    )
