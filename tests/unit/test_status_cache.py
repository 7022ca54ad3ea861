"""The status page under load and when the database is down: one read per few seconds
for every visitor, validators and gzip, the last read served (marked) when the database
cannot be read, and a clear 503 when it was never read."""

from __future__ import annotations

import gzip
from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.config import Settings
from bot.i18n import t
from bot.runtime import Helpdesk, build
from bot.web.app import create_app
from storage.db import make_engine, session_scope
from storage.models import ServiceState


def cached(helpdesk: Helpdesk, seconds: float) -> Helpdesk:
    settings = helpdesk.settings.model_copy(update={"status_cache_seconds": seconds})
    return build(settings, upgrade=False, engine=helpdesk.engine)


def test_one_read_serves_every_visitor_until_it_is_old(helpdesk: Helpdesk) -> None:
    with TestClient(create_app(cached(helpdesk, 3600), run_jobs=False)) as c:
        first = c.get("/api/status")
        assert first.status_code == 200 and first.json()["stale"] is False
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=3600"
        assert first.headers["last-modified"].endswith(" GMT")
        with session_scope(helpdesk.engine) as s:  # the service goes down meanwhile
            s.add(ServiceState(service_id="vpn", state="down"))
        again = c.get("/api/status")
        assert again.content == first.content  # the same read, not a new one
        assert c.get("/api/status", headers={"If-None-Match": etag}).status_code == 304
        page = c.get("/status", headers={"Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip" and "<html" in page.text
        raw = c.get("/status", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers
        assert gzip.decompress(gzip.compress(raw.content)) == raw.content
        assert page.headers["etag"] == raw.headers["etag"]  # one page, two encodings
    with TestClient(create_app(cached(helpdesk, 0), run_jobs=False)) as c:
        vpn = next(x for x in c.get("/api/status").json()["services"] if x["id"] == "vpn")
        assert vpn["state"] == "down"  # a fresh read sees it


def test_the_last_read_is_served_marked_stale_while_the_database_is_down(
    helpdesk: Helpdesk,
) -> None:
    with TestClient(create_app(cached(helpdesk, 0), run_jobs=False)) as c:
        good = c.get("/api/status").json()
        with helpdesk.engine.begin() as conn:  # the table cannot be read from here on
            conn.execute(sa.text("ALTER TABLE servicestate RENAME TO servicestate_away"))
        try:
            down = c.get("/api/status")
            assert down.status_code == 200
            body = down.json()
            assert body["stale"] is True and body["services"] == good["services"]
            page = c.get("/status")
            assert page.status_code == 200
            assert t("status.stale", "id", at="").split("{")[0][:20] in page.text
        finally:
            with helpdesk.engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE servicestate_away RENAME TO servicestate"))
        assert c.get("/api/status").json()["stale"] is False  # read again once it can


def test_a_database_never_read_gives_a_clear_503(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        _env_file=None,
    )
    helpdesk = build(settings, upgrade=False, engine=make_engine(settings.resolved_database_url))
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        page = c.get("/status")
        api = c.get("/api/status")
    assert page.status_code == 503 and page.text == t("status.unavailable", "id")
    assert api.status_code == 503 and api.json() == {"error": "unavailable"}
