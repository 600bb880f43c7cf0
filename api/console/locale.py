"""The console's words in Finnish, Swedish and English (locale/<language>.toml).

Each file holds the same keys; `words(language)` gives a callable that
looks a key up (``t("client.title")``) and fills its ``{name}`` fields.
An unknown key raises, so a missing word is found by the tests rather than
shown as a blank.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final

from model.vocab import LANGUAGES

DEFAULT_LANGUAGE: Final = "fi"


class Words:
    """Messages of one language, looked up by dotted key."""

    def __init__(self, language: str, messages: Mapping[str, str]) -> None:
        self.language = language
        self.messages = messages

    def __call__(self, key: str, /, **fields: Any) -> str:
        text = self.messages[key]
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return key in self.messages


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


@cache
def words(language: str) -> Words:
    """The messages of `language` (fi, sv or en)."""
    if language not in LANGUAGES:
        raise ValueError(f"no console words for {language!r}")
    text = resources.files("api.console").joinpath(f"locale/{language}.toml").read_text("utf-8")
    return Words(language, _flatten(tomllib.loads(text)))


def language_names() -> list[tuple[str, str]]:
    """(code, the language's own name) of every language, for the switch."""
    return [(code, words(code)("language_name")) for code in LANGUAGES]
