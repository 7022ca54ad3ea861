"""Signed Slack events acknowledged per second, and the time to ack them, under load.

Our real web app (uvicorn on 127.0.0.1, port 0, in its own thread and event loop) runs
the Slack channel in HTTP mode against the local fake Web API of the tests. The load
generator sends N signed `message.im` events from many users with bounded concurrency
to POST /slack/events and times each HTTP 200: Slack retries an event that is not
acknowledged within 3 seconds, so `ack_p99_ms` is the figure that matters. The work
behind each ack (a conversation turn and a chat.postMessage) runs after it; the script
waits for it and reports that rate too.

    python bench/slack_events.py [--events 2000] [--users 400] [--concurrency 64]
    python bench/slack_events.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Without --database-url it runs on a fresh SQLite file in a temporary folder; with a
PostgreSQL URL it creates a database `bench_slack_<random>` on that server, migrates it,
and drops it at the end. Progress goes to stderr; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import uvicorn
from pydantic import SecretStr
from sqlmodel import Session, col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._fresh_db import fresh_database  # noqa: E402
from bot.channels import slack  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import build  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from storage.models import InboundEvent  # noqa: E402
from tests.channels.fake_slack import SECRET, TOKEN, FakeSlack, dm_event, event_body, signed_headers  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def serve(db_url: str, fake_url: str, ports: Any) -> None:
    """The product's process: our web app with the Slack channel, nothing else."""
    import socket

    settings = Settings(
        data_dir=Path(tempfile.gettempdir()),
        database_url=db_url,
        _env_file=None,
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_base_url=fake_url,
    )
    helpdesk = build(settings, upgrade=False)
    app = create_app(helpdesk, channels=[slack.SPEC], run_jobs=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    ports.put(sock.getsockname()[1])
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server(db_url: str, fake_url: str) -> Iterator[str]:
    """uvicorn in a process of its own: the load generator and the fake Web API must not
    share its interpreter (and GIL), as they would not in production."""
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    proc = ctx.Process(target=serve, args=(db_url, fake_url, ports), daemon=True)
    proc.start()
    try:
        port = ports.get(timeout=60)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not proc.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)
        yield f"{url}/slack/events"
    finally:
        proc.terminate()
        proc.join(timeout=30)


def replies(fake: FakeSlack) -> int:
    """Each DM event is answered with one chat.postMessage (minus the warm-up's)."""
    return len(fake.calls_to("chat.postMessage", lambda c: c.status == 200)) - 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def load(
    url: str,
    events: int,
    users: int,
    concurrency: int,
    questions: list[str],
    prefix: str = "EvBENCH",
) -> tuple[list[float], dict[int, int], float]:
    """`concurrency` connections, each sending its share of the events one after the
    other, as Slack's senders do."""
    rng = random.Random(7)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    todo = iter(range(events))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            for n in todo:
                user = f"U{n % users:05d}"
                body = event_body(
                    dm_event(user, rng.choice(questions)), event_id=f"{prefix}{n:07d}"
                )
                headers = signed_headers(body)
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - start)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(min(concurrency, events))))
        return latencies, statuses, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--process-timeout",
        type=float,
        default=45.0,
        help="seconds to wait for the work behind the acks",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.database_url) as (_, db_url),
        FakeSlack() as fake,
    ):
        settings = Settings(data_dir=Path(tmp) / "var", database_url=db_url, _env_file=None)
        helpdesk = build(settings)  # migrated, samples loaded
        backend = helpdesk.engine.dialect.name
        questions = [a.question for a in helpdesk.kb.current.articles] + [
            "halo",
            "printer kantor macet terus",
        ]
        with server(db_url, fake.base_url) as url:
            log(f"warming up on {backend}")
            asyncio.run(load(url, 1, 1, 1, questions[:1], prefix="EvWARM"))
            fake.wait_for("chat.postMessage", timeout=60)
            log(
                f"sending {args.events} signed events from {args.users} users, {args.concurrency} at a time"
            )
            began = time.perf_counter()
            latencies, statuses, elapsed = asyncio.run(
                load(url, args.events, args.users, args.concurrency, questions)
            )
            deadline = time.monotonic() + args.process_timeout
            while replies(fake) < args.events and time.monotonic() < deadline:
                time.sleep(0.02)
            processed = replies(fake)
            process_elapsed = time.perf_counter() - began
        with Session(helpdesk.engine) as s:
            recorded = s.exec(
                select(func.count())
                .select_from(InboundEvent)
                .where(col(InboundEvent.key).startswith("EvBENCH"))
            ).one()
        helpdesk.engine.dispose()

    ms = [x * 1000 for x in latencies]
    result = {
        "bench": "slack_events",
        "database": backend,
        "events": args.events,
        "users": args.users,
        "concurrency": args.concurrency,
        "acked": statuses.get(200, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "ack_events_per_s": round(args.events / elapsed, 1),
        "ack_p50_ms": round(statistics.median(ms), 2),
        "ack_p99_ms": round(percentile(ms, 0.99), 2),
        "ack_max_ms": round(max(ms), 2),
        "event_ids_recorded": recorded,
        "replied": processed,
        "replied_events_per_s": round(processed / process_elapsed, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
