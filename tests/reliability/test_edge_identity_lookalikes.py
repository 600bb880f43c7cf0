"""Identity codes written with look-alike characters are refused like plain ones.

Text pasted from office tools turns a hyphen into U+2010 or a soft hyphen,
slips in zero-width spaces, or uses fullwidth digits. The filter reads such
text as a person would, in the API (client ids, comments, error texts) and
in `polku validate` (the vectorised mask its contract uses).
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from model.privacy import (
    check_character,
    looks_like_personal_identity_code,
    personal_identity_code_mask,
)
from tests.support.api_requests import Keys, request_body

pytestmark = pytest.mark.one_app_per_module

CHECK: Final = check_character("131052308")  # the textbook example 131052-308T
LOOK_ALIKES: Final = {
    "hyphen U+2010": f"131052\u2010308{CHECK}",
    "zero-width space": f"131052-\u200b308{CHECK}",
    "soft hyphen as the sign": f"131052\u00ad308{CHECK}",
    "en dash in a sentence": f"Asiakas 131052\u2013308{CHECK} soitti",
    "minus sign": f"131052\u2212308{CHECK}",
    "fullwidth digits": "\uff11\uff13\uff11\uff10\uff15\uff12-\uff13\uff10\uff18" + CHECK,
    "word joiner inside the digits": f"1310\u206052-308{CHECK}",
}
NOT_CODES: Final = ["C003-0000421", "Hyvä päätös – työkokeilu ensin", "ps_" + "ab" * 32]


@pytest.mark.parametrize("value", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_is_recognised(value: str) -> None:
    assert looks_like_personal_identity_code(value)
    assert personal_identity_code_mask([value]).tolist() == [True]
    arrow = pd.Series([value, "C003-0000421"], dtype="string[pyarrow]")
    assert personal_identity_code_mask(arrow).tolist() == [True, False]


@pytest.mark.parametrize("value", NOT_CODES)
def test_ordinary_text_is_not_a_code(value: str) -> None:
    assert not looks_like_personal_identity_code(value)
    assert personal_identity_code_mask([value]).tolist() == [False]


@pytest.mark.parametrize("value", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_the_api_refuses_a_look_alike_client_id(client: TestClient, keys: Keys, value: str) -> None:
    body = request_body()
    body["client"] = {**body["client"], "client_id": value}
    response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["client.client_id"]
    assert value not in response.text
