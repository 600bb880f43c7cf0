"""Recognising Finnish personal identity codes (henkilötunnus).

Polku works on pseudonymous client ids only. A value that looks like a
personal identity code must never be stored, logged or echoed back, so the
data contract (and anything else that receives ids) refuses it with the
checks below.

A code has the form ``DDMMYYCZZZQ``:

- ``DDMMYY`` the date of birth, which must be a real calendar date;
- ``C`` the century sign: ``+`` for the 1800s; ``-`` and ``Y X W V U`` for
  the 1900s; ``A B C D E F`` for the 2000s (the extra signs exist since 2023);
- ``ZZZ`` the individual number, 002–899 for permanent codes and 900–999 for
  temporary ones (both identify a person, so both count here);
- ``Q`` the check character, ``CHECK_CHARACTERS[int(DDMMYYZZZ) % 31]``.

A value "looks like" a code when, after trimming spaces, it is a code (in
either letter case) or contains one as a separate token, such as
``client_131052-308T``. Text pasted from office tools is read as a person
would read it first (`normalised`): compatibility forms folded (NFKC:
fullwidth digits become digits), invisible format characters (Unicode Cf,
such as a zero-width space) dropped, and every dash (a hyphen, an en dash,
a minus sign, a soft hyphen) read as ``-``. A code glued to other letters or digits
(``x131052-308T7``) is not one: long random pseudonyms, hex digests
included, would otherwise match by chance.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

CHECK_CHARACTERS: Final = "0123456789ABCDEFHJKLMNPRSTUVWXY"

CENTURY_SIGNS: Final = {
    "+": 1800,
    "-": 1900,
    "Y": 1900,
    "X": 1900,
    "W": 1900,
    "V": 1900,
    "U": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}

_SIGNS = "".join(re.escape(sign) for sign in CENTURY_SIGNS)
_CODE = rf"(\d{{2}})(\d{{2}})(\d{{2}})([{_SIGNS}])(\d{{3}})([{CHECK_CHARACTERS}])"
# A code as a token: not preceded or followed by a letter or digit.
_TOKEN: Final = re.compile(rf"(?<![0-9A-Za-z]){_CODE}(?![0-9A-Za-z])", re.IGNORECASE)
# The cheap pre-filter for whole columns. Deliberately loose (no look-arounds,
# which the Arrow regex engine lacks): every candidate is checked exactly.
_CANDIDATE: Final = r"(?i)\d{6}[" + _SIGNS + r"]\d{3}[0-9a-z]"


def check_character(digits: str) -> str:
    """The check character for the nine digits ``DDMMYYZZZ``."""
    return CHECK_CHARACTERS[int(digits) % 31]


def _is_code(day: str, month: str, year: str, sign: str, individual: str, check: str) -> bool:
    if not 2 <= int(individual) <= 999:
        return False
    try:
        date(CENTURY_SIGNS[sign.upper()] + int(year), int(month), int(day))
    except ValueError:
        return False
    return check_character(day + month + year + individual) == check.upper()


# Read as "-": soft hyphen and the minus sign, besides the dashes (Unicode Pd).
_DASHES: Final = frozenset("\u00ad\u2212\ufe63\uff0d")
_RUN_OF_DASHES: Final = re.compile(r"-{2,}")


def normalised(text: str) -> str:
    """`text` as the identity-code check reads it: NFKC, no format characters, dashes as '-'."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKC", text)
    kept = []
    for char in folded:
        if char in _DASHES or unicodedata.category(char) == "Pd":
            kept.append("-")
        elif unicodedata.category(char) != "Cf":
            kept.append(char)
    return _RUN_OF_DASHES.sub("-", "".join(kept))


def looks_like_personal_identity_code(value: object) -> bool:
    """True when `value` is, or contains as a token, a valid Finnish identity code."""
    if not isinstance(value, str):
        return False
    return any(_is_code(*match.groups()) for match in _TOKEN.finditer(normalised(value)))


def personal_identity_code_mask(values: Iterable[object] | pd.Series) -> np.ndarray:
    """Vectorised `looks_like_personal_identity_code`: one boolean per value.

    A regular-expression pre-filter runs over the whole column; only the
    (normally zero) candidates that pass it are checked one by one.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    out = np.zeros(len(series), dtype=bool)
    if series.empty:
        return out
    text = series.astype("str") if series.dtype == object else series
    if not pd.api.types.is_string_dtype(text.dtype):
        return out  # numbers, dates and booleans cannot hold a code
    # Text that is not plain ASCII may hide a code behind look-alike characters.
    candidates = text.str.contains(_CANDIDATE + r"|[^\x00-\x7f]", regex=True, na=False).to_numpy(
        dtype=bool
    )
    positions = np.flatnonzero(candidates)
    if positions.size:
        checked = [looks_like_personal_identity_code(text.iat[i]) for i in positions]
        out[positions] = checked
    return out
