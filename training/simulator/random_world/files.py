"""A drawn world's catalogue and run configuration, as the files `write_world` writes.

The catalogue (`catalogue.toml`) lists the world's services with their
names, descriptions, eligibility rules, typical lengths and places a month,
in the format of docs/catalogue.md. The run configuration (`config.toml`)
declares the extra client columns, the unit column among them, and the
extract date, so that `polku train --data DIR --catalogue DIR/catalogue.toml
--config DIR/config.toml` reads the world as it was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from training.simulator.random_world.pool import TEMPLATES

if TYPE_CHECKING:
    from training.simulator.params import WorldParams
    from training.simulator.random_world.spec import WorldSpec

CATALOGUE_FILE = "catalogue.toml"
CONFIG_FILE = "config.toml"
LANGUAGES = ("fi", "sv", "en")
NO_NEW_SERVICE_TEXT = {
    "name": (
        "Ei uutta palvelua – jatketaan nykyisen suunnitelman mukaan",
        "Ingen ny tjänst – fortsättning enligt nuvarande plan",
        "No new service – continue the current plan",
    ),
    "description": (
        "Asiakas jatkaa nykyisen suunnitelmansa mukaisesti, eikä uutta palvelua aloiteta.",
        "Kunden fortsätter enligt sin nuvarande plan och ingen ny tjänst inleds.",
        "The client continues with the current plan; no new service is started.",
    ),
}


def _quoted(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _texts(key: str, values: tuple[str, str, str]) -> list[str]:
    return [
        f"{key}.{language} = {_quoted(value)}"
        for language, value in zip(LANGUAGES, values, strict=True)
    ]


def catalogue_text(spec: WorldSpec) -> str:
    lines = [
        f"# Service catalogue of the drawn world of seed {spec.seed}",
        f"# (polku simulate --scenario random --seed {spec.seed}); docs/catalogue.md.",
        "version = 1",
        "",
        "[no_new_service]",
        *_texts("name", NO_NEW_SERVICE_TEXT["name"]),
        *_texts("description", NO_NEW_SERVICE_TEXT["description"]),
    ]
    for service in spec.services:
        template = TEMPLATES[service.code]
        lines += [
            "",
            "[[service]]",
            f"code = {_quoted(service.code)}",
            *_texts("name", template.name),
            *_texts("description", template.description),
        ]
        if service.eligibility:
            lines.append(f"eligibility = {_quoted(service.eligibility)}")
        lines += [
            f"typical_duration_days = {service.typical_days}",
            f"monthly_capacity = {service.monthly_capacity}",
        ]
    return "\n".join(lines) + "\n"


def config_text(spec: WorldSpec, params: WorldParams, extras: Mapping[str, str]) -> str:
    lines = [
        f"# Run configuration of the drawn world of seed {spec.seed}: the label's horizon,",
        "# the extract date, and the extra client columns (the assignment unit among them,",
        "# declared as what it is: the case data says which unit handled a client, not",
        "# whether its habits are a valid instrument).",
        f"horizon_days = {params.horizon_days}",
        f"extract_date = {params.extract_date}",
    ]
    if spec.units is not None:
        lines.append(f"assignment_units = [{_quoted(spec.units.column)}]")
    lines += [
        "",
        "[extra_features]",
        *(f"{name} = {_quoted(kind)}" for name, kind in extras.items()),
    ]
    return "\n".join(lines) + "\n"
