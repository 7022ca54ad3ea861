"""Telegram webhook updates per second, from the POST to the reply at the Bot API.

Our real web app runs in its own process (uvicorn on 127.0.0.1, the Telegram channel in
webhook mode, the scheduler on, as `helpdesk run` would) against the fake Bot API of
the tests, which runs in this process and timestamps every call it receives. The load
generator posts N updates with the right X-Telegram-Bot-Api-Secret-Token, with bounded
concurrency: questions from many private chats (each its own employee), plus a few
employees who report an incident through the whole guided flow, pressing inline
buttons (callback queries) as fast as the replies arrive.

Reported per database: updates_per_s (all updates / time from the first POST to the
last reply received by the fake server), ack_p50_ms / ack_p99_ms (POST to our webhook's
HTTP answer: what Telegram waits for before it sends the next update, and what it
retries when slow), reply_p50_ms / reply_p99_ms (POST to the first reply of that update
at the fake server), and checks: every update answered, every report a ticket, no
handler error, every POST answered 200.

    python bench/telegram_webhook.py                     # SQLite (temp file) and PostgreSQL
    python bench/telegram_webhook.py --updates 2000 --concurrency 64
    python bench/telegram_webhook.py --backends sqlite
    python bench/telegram_webhook.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL it creates a database `bench_tg_<random>` on the server of
--database-url, and drops it at the end. TELEGRAM_RATE_LIMIT is 0 by default
(--rate-limit): Telegram's own 30 messages/s would otherwise be what is measured; the
per-chat pace (about 1 message/s after a burst of 3) stays on, and is what slows the
reporters' flows. Progress goes to stderr; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import queue
import random
import socket
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
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._fresh_db import fresh_database  # noqa: E402
from tests.channels.fake_telegram import TOKEN, FakeBotApi, Updates, buttons  # noqa: E402

SECRET = "bench-webhook-secret"
WEBHOOK = "/telegram/webhook"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: a reporter's flow: /lapor with a description, then service, type, impact, urgency, send.
REPORT_STEPS = ("svc:vpn", "type:gangguan", "imp:2", "urg:2", "rep:send")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_settings(db_url: str, api_url: str, rate_limit: float, data_dir: str) -> Any:
    from pydantic import SecretStr

    from bot.config import Settings

    return Settings(
        data_dir=Path(data_dir),
        database_url=db_url,
        _env_file=None,
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_base_url=api_url,
        telegram_webhook_url=f"https://helpdesk.example.go.id{WEBHOOK}",
        telegram_webhook_secret=SecretStr(SECRET),
        telegram_rate_limit=rate_limit,
    )


class GcPauses:
    """The web process's garbage collections and how long each stopped its event loop
    (reported on stderr: a full collection in a burst is an acknowledgement's tail)."""

    def __init__(self) -> None:
        self.by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._began = 0.0
        self.serving = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        elif self.serving:
            self.by_gen[info["generation"]].append((time.perf_counter() - self._began) * 1000)

    def summary(self) -> str:
        return ", ".join(
            f"gen{g}: {len(ms)} (max {max(ms, default=0):.1f} ms, total {sum(ms):.0f} ms)"
            for g, ms in self.by_gen.items()
        )


def gc_pauses() -> GcPauses:
    import gc

    pauses = GcPauses()
    gc.callbacks.append(pauses)
    return pauses


def serve(
    db_url: str,
    api_url: str,
    rate_limit: float,
    data_dir: str,
    ports: Any,
    stop: Any,
    errors: Any,
    work: bool,
) -> None:
    """The product's web process: the web app with the Telegram channel in webhook mode;
    `work=False` as `helpdesk run` starts it beside a worker process (it only stores)."""
    import logging

    import uvicorn

    from bot.channels import telegram
    from bot.runtime import build
    from bot.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    pauses = gc_pauses()
    helpdesk = build(bench_settings(db_url, api_url, rate_limit, data_dir))
    app = create_app(helpdesk, channels=[telegram.SPEC], run_jobs=work, work=work)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    ports.put(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def stop_when_told() -> None:
        await asyncio.to_thread(stop.wait)
        server.should_exit = True

    async def run() -> None:
        watcher = asyncio.create_task(stop_when_told())
        pauses.serving = True  # (the lifespan's start-up included)
        await server.serve(sockets=[sock])
        watcher.cancel()
        log(f"web process garbage collections while serving: {pauses.summary()}")
        channel = app.state.channels.get("telegram")
        if work:
            errors.put(len(channel.inbound.errors) if channel is not None else -1)

    # the event loop `helpdesk run` gets from uvicorn (uvloop where it is installed)
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(run())


def work(
    db_url: str, api_url: str, rate_limit: float, data_dir: str, stop: Any, errors: Any
) -> None:
    """The worker process `helpdesk run` starts (`helpdesk worker`, lower CPU priority)."""
    import logging
    import os

    from bot.channels import telegram
    from bot.cli import workers
    from bot.runtime import build
    from bot.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    os.nice(workers.NICENESS)
    helpdesk = build(bench_settings(db_url, api_url, rate_limit, data_dir))
    app = create_app(helpdesk, channels=[telegram.SPEC])

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await asyncio.to_thread(stop.wait)
            channel = app.state.channels.get("telegram")
            errors.put(len(channel.inbound.errors) if channel is not None else -1)

    asyncio.run(run())


@contextmanager
def product(db_url: str, api_url: str, rate_limit: float, split: bool) -> Iterator[tuple[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    ports, errors, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = ctx.Process(
            target=serve,
            args=(db_url, api_url, rate_limit, data_dir, ports, stop, errors, not split),
        )
        proc.start()
        worker = None
        try:
            port = ports.get(timeout=120)
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
                time.sleep(0.1)
            if split:  # started once the web process has migrated the database
                worker = ctx.Process(
                    target=work, args=(db_url, api_url, rate_limit, data_dir, stop, errors)
                )
                worker.start()
            yield url, errors
        finally:
            stop.set()  # uvicorn exits its loop and runs the lifespan's shutdown
            for p in (proc, worker):
                if p is None:
                    continue
                p.join(30)
                if p.is_alive():
                    p.terminate()
                    p.join(10)


def client_run(main: Any) -> Any:
    """The load generator on uvloop where it is installed: on 2 cores its own event loop
    is part of every figure it measures, and should cost as little as it can."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def load(
    url: str,
    api: FakeBotApi,
    questions: list[str],
    reporters: int,
    concurrency: int,
    first_user: int,
    reply_timeout: float = 120.0,
) -> dict[str, Any]:
    """Posts the updates; the acknowledgement is the webhook's HTTP answer, the reply the
    first sendMessage to the update's chat after its POST began (looked up at the end, so
    this works whether the app answers before or after processing)."""
    ups = Updates(start=first_user * 10)
    ack_ms: list[float] = []
    #: (chat, POST start, log mark) of every update that must get a reply
    posted: list[tuple[int, float, int]] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)

    # aiohttp, not httpx: with 200 connections httpx's own pool costs the load generator
    # seconds per request on 2 cores, and that would be what the acknowledgement measures
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as client:

        async def post(update: dict[str, Any], chat: int) -> None:
            async with gate:
                mark = api.mark()
                start = time.monotonic()
                async with client.post(
                    url + WEBHOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                ) as response:
                    await response.read()
                ack_ms.append((time.monotonic() - start) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                posted.append((chat, start, mark))

        async def ask(n: int, text: str) -> None:
            user = Updates.user(first_user + n, f"Pegawai{n}")
            await post(ups.text(user, text), user["id"])

        async def shown(chat: int, step: str) -> list[Any]:
            """The message with this step's button, once the bot has sent it."""
            deadline = time.monotonic() + reply_timeout
            while time.monotonic() < deadline:
                found = [c for c in api.sent(chat) if step in [d for _, d in buttons(c)]]
                if found:
                    return found
                await asyncio.sleep(0.02)
            return []

        async def report(n: int) -> None:
            user = Updates.user(first_user + len(questions) + n, f"Pelapor{n}")
            chat = user["id"]
            await post(
                ups.text(
                    user, "/lapor VPN kantor putus terus sejak pagi, tidak bisa membuka aplikasi"
                ),
                chat,
            )
            for step in REPORT_STEPS:
                found = await shown(chat, step)
                if not found:
                    return
                await post(ups.press(user, found[-1].result, step), chat)

        began = time.monotonic()
        await asyncio.gather(
            *(ask(n, q) for n, q in enumerate(questions)), *(report(n) for n in range(reporters))
        )
        http_done = time.monotonic()

    def replies() -> list[float]:
        out = []
        for chat, start, mark in posted:
            first = next(
                (c for c in api.since(mark, "sendMessage") if int(c.params["chat_id"]) == chat),
                None,
            )
            if first is not None:
                out.append((first.at - start) * 1000)
        return out

    deadline = time.monotonic() + reply_timeout
    reply_ms = replies()
    while len(reply_ms) < len(posted) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        reply_ms = replies()
    chats = set(range(first_user, first_user + len(questions) + reporters))
    last_reply = max(
        (c.at for c in api.calls_of("sendMessage") if int(c.params["chat_id"]) in chats),
        default=http_done,
    )
    total = len(questions) + reporters * (1 + len(REPORT_STEPS))
    elapsed = max(last_reply, http_done) - began
    return {
        "updates": total,
        "seconds": round(elapsed, 3),
        "updates_per_s": round(total / elapsed, 1),
        "ack_p50_ms": round(percentile(ack_ms, 0.50), 1),
        "ack_p99_ms": round(percentile(ack_ms, 0.99), 1),
        "reply_p50_ms": round(percentile(reply_ms, 0.50), 1),
        "reply_p99_ms": round(percentile(reply_ms, 0.99), 1),
        "ack_mean_ms": round(statistics.fmean(ack_ms), 1) if ack_ms else 0.0,
        "answered": len(reply_ms),
        "statuses": statuses,
    }


def questions_from_knowledge(count: int, seed: int) -> list[str]:
    from bot.config import KNOWLEDGE_DIR
    from knowledge.articles import load_articles

    rng = random.Random(seed)
    articles = load_articles(KNOWLEDGE_DIR / "articles")
    phrasings = [p for a in articles for p in (a.question, *a.alternates)]
    return [rng.choice(phrasings) for _ in range(count)]


def tickets_in(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar_one())
    finally:
        engine.dispose()


def run_backend(
    backend: str, args: argparse.Namespace, questions: list[str], reporters: int
) -> dict[str, Any]:
    api = FakeBotApi().start()
    try:
        with fresh_database(None if backend == "sqlite" else args.database_url) as (_, db_url):
            split = args.processes == "split" or (
                args.processes == "auto" and backend == "postgresql"
            )
            with product(db_url, api.url, args.rate_limit, split) as (
                url,
                errors,
            ):
                log(f"{backend}: app up; warming up")
                client_run(load(url, api, questions[:20], 0, args.concurrency, first_user=900_000))
                log(
                    f"{backend}: {len(questions)} questions and {reporters} reports, concurrency {args.concurrency}"
                )
                result = client_run(
                    load(url, api, questions, reporters, args.concurrency, first_user=100_000)
                )
            result["processes"] = "split" if split else "single"
            result["tickets"] = tickets_in(db_url)
            try:
                result["handler_errors"] = errors.get(timeout=10)
            except queue.Empty:
                result["handler_errors"] = None
            result["ok"] = (
                result["answered"] == len(questions) + reporters * (1 + len(REPORT_STEPS))
                and result["tickets"] == reporters
                and result["statuses"] == {200: result["updates"]}
                and result["handler_errors"] in (0, None)
            )
            log(f"{backend}: {json.dumps(result)}")
            return result
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--updates", type=int, default=600, help="updates in all (about 5%% go to reports)"
    )
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--database-url",
        default=PG_DEFAULT,
        help="PostgreSQL server to create the bench database on",
    )
    parser.add_argument(
        "--rate-limit", type=float, default=0.0, help="TELEGRAM_RATE_LIMIT for the run (0 = off)"
    )
    parser.add_argument(
        "--reporters",
        type=int,
        default=None,
        help="employees who report through the guided flow (6 updates each; default: 5%% of updates)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--processes",
        choices=("auto", "split", "single"),
        default="auto",
        help="split: a web process and a worker process (HELPDESK_WORKER_PROCESSES=1); "
        "single: everything in one process (0); auto: as `helpdesk run` chooses by "
        "default, split on PostgreSQL and single on SQLite",
    )
    args = parser.parse_args()

    reporters = (
        args.reporters
        if args.reporters is not None
        else max(1, args.updates // 20 // (1 + len(REPORT_STEPS)))
    )
    questions = questions_from_knowledge(
        args.updates - reporters * (1 + len(REPORT_STEPS)), args.seed
    )
    out: dict[str, Any] = {
        "benchmark": "telegram_webhook",
        "concurrency": args.concurrency,
        "processes": args.processes,
        "rate_limit": args.rate_limit,
        "questions": len(questions),
        "reporters": reporters,
    }
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        try:
            out[backend] = run_backend(backend, args, questions, reporters)
        except sa.exc.OperationalError as exc:
            log(f"{backend}: database unreachable: {exc.__class__.__name__}")
            out[backend] = {"error": "database unreachable"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
