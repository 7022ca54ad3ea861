"""The WhatsApp Business Cloud API over httpx: send a message, upload a file.

No client library: Meta publishes none for Python, and the community ones wrap their
own web server and handler model, where we need two HTTP calls and the error codes.
The Graph API's error body names the cause by code; `GraphError` keeps the code, the
HTTP status and any Retry-After, and says what a caller can do about it.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

#: throttling: the account's rate (130429), one user's pair rate (131056), HTTP 429
THROTTLED = frozenset({130429, 131056, 80007, 4, 613})
#: the 24-hour customer-service window has closed: only templates reach the person now
WINDOW_CLOSED = 131047
#: the access token is invalid or expired: nothing sends until an admin replaces it
INVALID_TOKEN = 190
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class GraphError(Exception):
    """A refused or failed Graph API call. `status` 0: the request did not get through
    (a network error): it may be tried again."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def throttled(self) -> bool:
        return self.status == 429 or self.code in THROTTLED

    @property
    def window_closed(self) -> bool:
        return self.code == WINDOW_CLOSED

    @property
    def permanent(self) -> bool:
        """Trying again cannot help: a bad token, a refused message (4xx that is neither
        throttling nor the window, which has its own answer: a template)."""
        if self.code == INVALID_TOKEN:
            return True
        if self.throttled or self.window_closed or self.status == 0:
            return False
        return 400 <= self.status < 500

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "network"
        return (
            f"{where}, code {self.code}: {self.message}"
            if self.code
            else f"{where}: {self.message}"
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _error_of(response: httpx.Response) -> GraphError:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(
            response.text[:300] or response.reason_phrase,
            status=response.status_code,
            retry_after=_retry_after(response),
        )
    code = error.get("code")
    details = (
        (error.get("error_data") or {}).get("details")
        if isinstance(error.get("error_data"), dict)
        else None
    )
    message = str(error.get("message") or "")
    if details:
        message = f"{message} ({details})"
    return GraphError(
        message[:500],
        status=response.status_code,
        code=code if isinstance(code, int) else None,
        retry_after=_retry_after(response),
    )


class Graph:
    """One business phone number's end of the Cloud API."""

    def __init__(
        self,
        base_url: str,
        phone_number_id: str,
        token: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._client = client or httpx.AsyncClient(
            timeout=TIMEOUT,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.base_url}/{self.phone_number_id}/{path}"
        try:
            response = await self._client.post(url, **kwargs)
        except httpx.HTTPError as exc:
            raise GraphError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_of(response)
        try:
            data = response.json()
        except ValueError:
            raise GraphError("answer is not JSON", status=response.status_code) from None
        if not isinstance(data, dict):
            raise GraphError("answer is not an object", status=response.status_code)
        return data

    async def send(self, to: str, message: dict[str, Any]) -> str:
        """One message (`message`: its "type" and that type's object); returns its wamid."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        data = await self._post("messages", json=body | message)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise GraphError(
                f"no message id in the answer: {str(data)[:200]}", status=200
            ) from None

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        """Stores a file at Meta (kept 30 days); returns the media id a message names."""
        answer = await self._post(
            "media",
            data={"messaging_product": "whatsapp", "type": mime},
            files={"file": (filename, data, mime)},
        )
        media_id = answer.get("id")
        if not isinstance(media_id, str):
            raise GraphError(f"no media id in the answer: {str(answer)[:200]}", status=200)
        return media_id
