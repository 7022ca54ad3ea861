"""Web chat under load: many sessions typing at once, time from the POST to its reply.

The web chat answers in the request itself (the browser waits for the turn). Our real
web app runs in its own process (uvicorn on 127.0.0.1, the scheduler on,
as `helpdesk run` would, only the web chat channel); each session first opens /chat for
its cookie, then sends its messages one after the other (a person waits for the reply
before typing the next), all sessions at once: questions from the knowledge base, with
a few commands between them.

Reported per database: messages_per_s, reply_p50_ms / reply_p99_ms (POST /api/chat to
its answer, which carries the replies), and checks: every message answered 200 with at
least one reply.

    python bench/webchat_load.py                         # SQLite (temp file) and PostgreSQL
    python bench/webchat_load.py --sessions 50 --messages 2000 --backends sqlite

Progress goes to stderr; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._fresh_db import fresh_database  # noqa: E402
from bench.telegram_webhook import percentile, questions_from_knowledge  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COMMANDS = ("/bantuan", "/layanan", "/tiketsaya", "/mulai")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def serve(db_url: str, data_dir: str, ports: Any, stop: Any) -> None:
    """The product's process: the web app with the web chat only."""
    import logging

    import uvicorn

    from bot.channels import webchat
    from bot.config import Settings
    from bot.runtime import build
    from bot.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    # every session comes from 127.0.0.1 here: the per-address limits (meant for one
    # visitor's address) would measure the limit, not the chat, so they are off
    settings = Settings(
        data_dir=Path(data_dir),
        database_url=db_url,
        limit_turns_per_minute_address=0,
        limit_tickets_per_hour_address=0,
        limit_web_sessions_per_hour_address=0,
        _env_file=None,
    )
    app = create_app(build(settings), channels=[webchat.SPEC])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    ports.put(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def stop_when_told() -> None:
        await asyncio.to_thread(stop.wait)
        server.should_exit = True

    async def run() -> None:
        watcher = asyncio.create_task(stop_when_told())
        await server.serve(sockets=[sock])
        watcher.cancel()

    asyncio.run(run())


@contextmanager
def product(db_url: str) -> Iterator[str]:
    ctx = multiprocessing.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = ctx.Process(target=serve, args=(db_url, data_dir, ports, stop))
        proc.start()
        try:
            url = f"http://127.0.0.1:{ports.get(timeout=120)}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or not proc.is_alive():
                    raise RuntimeError("the web app did not start")
                time.sleep(0.1)
            yield url
        finally:
            stop.set()
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
                proc.join(10)


async def load(url: str, scripts: list[list[str]]) -> dict[str, Any]:
    reply_ms: list[float] = []
    statuses: dict[int, int] = {}
    empty = 0

    async def session(texts: list[str]) -> None:
        nonlocal empty
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            assert (await client.get("/chat")).status_code == 200  # the session cookie
            for text in texts:
                start = time.monotonic()
                response = await client.post("/api/chat", json={"text": text})
                reply_ms.append((time.monotonic() - start) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 200 and not response.json().get("replies"):
                    empty += 1

    began = time.monotonic()
    await asyncio.gather(*(session(texts) for texts in scripts))
    elapsed = time.monotonic() - began
    total = sum(len(texts) for texts in scripts)
    return {
        "sessions": len(scripts),
        "messages": total,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(total / elapsed, 1),
        "reply_p50_ms": round(percentile(reply_ms, 0.50), 1),
        "reply_p99_ms": round(percentile(reply_ms, 0.99), 1),
        "statuses": statuses,
        "without_reply": empty,
        "ok": statuses == {200: total} and empty == 0,
    }


def scripts_for(sessions: int, messages: int, seed: int) -> list[list[str]]:
    """Each session's messages: mostly questions, a command every tenth message."""
    rng = random.Random(seed)
    questions = questions_from_knowledge(messages, seed)
    texts = [rng.choice(COMMANDS) if i % 10 == 9 else q for i, q in enumerate(questions)]
    return [texts[i::sessions] for i in range(sessions)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--database-url", default=PG_DEFAULT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    scripts = scripts_for(args.sessions, args.messages, args.seed)
    out: dict[str, Any] = {"benchmark": "webchat_load", "sessions": args.sessions}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        try:
            url_of = None if backend == "sqlite" else args.database_url
            with fresh_database(url_of) as (_, db), product(db) as url:
                log(f"{backend}: app up; warming up")
                asyncio.run(load(url, scripts_for(5, 20, args.seed + 1)))
                log(f"{backend}: {args.messages} messages from {args.sessions} sessions")
                out[backend] = asyncio.run(load(url, scripts))
                log(f"{backend}: {json.dumps(out[backend])}")
        except sa.exc.OperationalError as exc:
            log(f"{backend}: database unreachable: {exc.__class__.__name__}")
            out[backend] = {"error": "database unreachable"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
