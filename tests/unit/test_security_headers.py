"""Security headers on every page, a CSP the pages keep (no inline script or style, no
inline event handlers), and HSTS only when the public URL is https. That the pages still
work under the policy is the browser tests' part (tests/e2e)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from bot.runtime import Helpdesk
from bot.web.app import create_app

HTML_ROUTES = ["/chat", "/chat?lang=en", "/status", "/status?lang=en"]
OTHER_ROUTES = ["/healthz", "/api/status", "/static/chat.js", "/nowhere"]


def get_all(helpdesk: Helpdesk, paths: list[str]) -> dict[str, object]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as client:
        return {path: client.get(path) for path in paths}


def test_every_html_page_carries_the_headers(helpdesk: Helpdesk) -> None:
    for path, res in get_all(helpdesk, HTML_ROUTES).items():
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
        headers = res.headers  # type: ignore[attr-defined]
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp and headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in headers  # http://localhost by default


def test_other_responses_carry_them_too(helpdesk: Helpdesk) -> None:
    for path, res in get_all(helpdesk, OTHER_ROUTES).items():
        assert res.headers["x-content-type-options"] == "nosniff", path  # type: ignore[attr-defined]
        assert "content-security-policy" in res.headers  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["https://helpdesk.example.go.id", "http://helpdesk.example.go.id"])
def test_hsts_only_with_an_https_public_url(helpdesk: Helpdesk, url: str) -> None:
    helpdesk.settings.public_url = url
    for res in get_all(helpdesk, ["/chat", "/status", "/healthz"]).values():
        hsts = res.headers.get("strict-transport-security")  # type: ignore[attr-defined]
        assert (hsts == "max-age=31536000") if url.startswith("https") else hsts is None


def test_the_pages_have_no_inline_script_or_style(helpdesk: Helpdesk) -> None:
    for path, res in get_all(helpdesk, HTML_ROUTES).items():
        html = res.text  # type: ignore[attr-defined]
        for tag in re.findall(r"<script\b[^>]*>", html, re.I):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html, re.I), path
        assert "<style" not in html.lower(), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), path
        assert not re.search(r"\sstyle\s*=", html, re.I), path
