"""The numbers of a report page: every element with a `data-key`, its value and its
text in each language, for tests that check a page shows exactly its JSON's numbers."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

LANGUAGES = ("fi", "sv", "en")


class PageNumbers(HTMLParser):
    """Every element with a data-key: its key, value, kind and the text per language;
    and the page's scripts, outside addresses and images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, Any]] = []
        self.images: list[str] = []
        self.scripts = 0
        self.external: list[str] = []
        self._stack: list[tuple[str, dict[str, Any] | None, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            value = a.get(name) or ""
            if value and not value.startswith(("data:", "#")):
                self.external.append(value)
        if tag == "img":
            self.images.append(a.get("src") or "")
        entry = None
        if "data-key" in a:
            entry = {
                "key": json.loads(a["data-key"] or "[]"),
                "value": a.get("data-value"),
                "kind": a.get("data-kind"),
                "text": dict.fromkeys(LANGUAGES, ""),
                "plain": "",
            }
            self.found.append(entry)
        lang = a.get("lang") if tag == "span" else None
        self._stack.append((tag, entry, lang))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        entry = next((e for _, e, _ in reversed(self._stack) if e is not None), None)
        if entry is None:
            return
        lang = next((lg for _, _, lg in reversed(self._stack) if lg), None)
        if lang:
            entry["text"][lang] += data
        else:
            entry["plain"] += data


def page_numbers(page: str) -> PageNumbers:
    parser = PageNumbers()
    parser.feed(page)
    return parser


def resolve(document: Any, key: list[str]) -> Any:
    """Follow a data-key through the JSON: lists are searched by name, group, attribute or
    version."""
    current = document
    for part in key:
        if isinstance(current, list):
            current = next(
                item
                for item in current
                if part
                in (item.get("name"), item.get("group"), item.get("attribute"), item.get("version"))
            )
        else:
            current = current[part]
    return current
