"""Malformed Alertmanager webhooks are a 400 for the sender, never a 500: bodies nested
far deeper than Alertmanager's own, alerts that are not objects, labels or annotations
that are not objects of strings. Over HTTP with the bearer token, so only the body can
be the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.core import alertmanager
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.models import Outage

AUTH = {"Authorization": "Bearer s3cret", "Content-Type": "application/json"}


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    helpdesk.settings.alertmanager_token = SecretStr("s3cret")
    with TestClient(create_app(helpdesk, run_jobs=False), raise_server_exceptions=False) as c:
        yield c


def alert(**fields: object) -> dict[str, object]:
    return {"status": "firing", "labels": {"service": "sso"}, **fields}


DEEP: list[object] = []
for _ in range(30):
    DEEP = [DEEP]

MALFORMED = [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="array-100k-deep"),
    pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="object-100k-deep"),
    pytest.param(
        json.dumps({"alerts": [alert(labels={"service": "sso", "x": DEEP})]}).encode(),
        id="nested-label",
    ),
    pytest.param(b"[]", id="top-level-array"),
    pytest.param(b'"firing"', id="top-level-string"),
    pytest.param(b'{"alerts": {}}', id="alerts-object"),
    pytest.param(b'{"alerts": [1, "two", null]}', id="alerts-not-objects"),
    pytest.param(json.dumps({"alerts": [alert(labels=["sso"])]}).encode(), id="labels-list"),
    pytest.param(json.dumps({"alerts": [alert(labels="sso")]}).encode(), id="labels-string"),
    pytest.param(json.dumps({"alerts": [alert(annotations=[1])]}).encode(), id="annotations"),
    pytest.param(json.dumps({"alerts": [alert(labels={"service": 5})]}).encode(), id="label-5"),
    pytest.param(json.dumps({"alerts": [alert(status=["firing"])]}).encode(), id="status-list"),
    pytest.param(json.dumps({"alerts": [alert(fingerprint={})]}).encode(), id="fingerprint"),
    pytest.param(json.dumps({"alerts": [alert(startsAt=5)]}).encode(), id="startsAt"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_webhooks_are_400(client: TestClient, helpdesk: Helpdesk, body: bytes) -> None:
    response = client.post("/alerts/alertmanager", content=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert "error" in response.json()
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Outage)).first() is None


def test_a_well_formed_webhook_still_opens_an_outage(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    body = {"status": "firing", "alerts": [alert(annotations={"summary": "login gagal"})]}
    response = client.post("/alerts/alertmanager", content=json.dumps(body), headers=AUTH)
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    client.portal.call(client.app.state.intake.idle)  # type: ignore[attr-defined]
    with Session(helpdesk.engine) as s:
        assert [o.service_id for o in s.exec(select(Outage))] == ["sso"]


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = "[" * 100 + '\\" {{{{'
    payload = alertmanager.parse(
        json.dumps({"alerts": [alert(annotations={"summary": text})]}).encode()
    )
    assert payload["alerts"][0]["annotations"]["summary"] == text


def test_ingest_checks_the_shape_too(helpdesk: Helpdesk) -> None:
    from storage.models import utcnow

    with Session(helpdesk.engine) as s, pytest.raises(ValueError, match="not an object"):
        alertmanager.ingest(s, {"alerts": [["sso"]]}, utcnow())
