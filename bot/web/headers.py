"""Security headers on every response of the web app.

The pages (/chat, /status) load their script and styles from /static only, so the
policy can forbid inline script and inline style: an injected `<script>` or `onerror=`
does nothing even if escaping ever failed. Chart images arrive in the chat as data:
URLs, hence `img-src data:`. Nothing of ours is meant to be framed (clickjacking of the
chat's buttons), and page URLs carry nothing a referrer should leak to other sites.
The headers go on every response, not only HTML: on JSON and images they cost nothing
and a browser that sniffs a JSON body as HTML still gets the policy.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: a year, the usual minimum for preload lists; subdomains are left to the agency's
#: other sites, which this app does not know
HSTS = "max-age=31536000"


def security_headers(https: bool) -> dict[str, str]:
    """`https`: the public URL is https, so browsers may be told to never use http."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """ASGI middleware; a header a route sets itself is left as the route set it."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = security_headers(https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
