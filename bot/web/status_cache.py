"""The status page's data, read once per few seconds for every visitor, and kept when
the database cannot be read.

A burst of visitors (an outage is when everyone looks) costs one database read per
`ttl`, not one per request; the answers carry an ETag and Last-Modified, so a browser
or proxy that has the page gets 304, and are gzipped when the client accepts it. When
the database is down, the last snapshot is served marked stale instead of a 500: the
public page is most wanted exactly then.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

#: answers smaller than this are sent as they are (gzip's header would outweigh it)
GZIP_MIN = 500


@dataclass(frozen=True)
class Snapshot:
    data: dict[str, Any]
    #: when the data was read (UTC)
    at: datetime
    #: the database could not be read for the latest request: this is an older read
    stale: bool = False


class StatusCache:
    def __init__(
        self,
        load: Callable[[], dict[str, Any]],
        now: Callable[[], datetime],
        ttl: float,
        retry: float = 2.0,
    ) -> None:
        self._load, self._now, self.ttl, self.retry = load, now, ttl, retry
        self._snapshot: Snapshot | None = None
        self._fresh_until = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self) -> Snapshot:
        """The current snapshot; raises only when the database has never been read."""
        if self._snapshot is not None and time.monotonic() < self._fresh_until:
            return self._snapshot
        async with self._lock:  # one read for all the visitors waiting meanwhile
            if self._snapshot is not None and time.monotonic() < self._fresh_until:
                return self._snapshot
            at = self._now()
            try:
                data = await asyncio.to_thread(self._load)
            except Exception as exc:
                if self._snapshot is None:
                    raise
                log.warning("status page: database unreadable (%s), serving the last read",
                            exc.__class__.__name__)  # fmt: skip
                self._snapshot = Snapshot(self._snapshot.data, self._snapshot.at, stale=True)
                # tried again soon (never later than a fresh read would be)
                self._fresh_until = time.monotonic() + min(self.retry, self.ttl)
                return self._snapshot
            self._snapshot = Snapshot(data, at)
            self._fresh_until = time.monotonic() + self.ttl
            return self._snapshot


def respond(
    request: Request,
    body: bytes,
    media_type: str,
    snapshot: Snapshot,
    headers: dict[str, str] | None = None,
) -> Response:
    """`body` with validators (ETag of its bytes, Last-Modified of the read), 304 when
    the client has it, gzip when the client takes it."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {
        "ETag": etag,
        "Last-Modified": format_datetime(snapshot.at.replace(microsecond=0), usegmt=True),
        "Vary": "Accept-Encoding",
        **(headers or {}),
    }
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=common)
    if len(body) >= GZIP_MIN and "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(
            gzip.compress(body, compresslevel=6),
            media_type=media_type,
            headers={**common, "Content-Encoding": "gzip"},
        )
    return Response(body, media_type=media_type, headers=common)
