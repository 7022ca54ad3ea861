"""WhatsApp webhook messages per second, from the signed POST to the reply at the Cloud
API.

Our real web app runs in its own processes (uvicorn on 127.0.0.1 with the WhatsApp
channel, and a worker process, as `helpdesk run` starts them) against the fake Cloud
API of the tests, which runs in this process and timestamps every call it receives.
The load generator posts N change notifications signed with the app secret
(X-Hub-Signature-256), with bounded concurrency: questions from many numbers (each its
own employee), plus a few employees who report an incident through the whole guided
flow — a typed number for the service, then list rows and buttons — as fast as the
replies arrive.

Reported per database: messages_per_s (all messages / time from the first POST to the
last reply at the fake server), ack_p50_ms / ack_p99_ms (POST to our webhook's HTTP
answer: what Meta waits for, and retries when slow), reply_p50_ms / reply_p99_ms (POST
to the first reply to that number), and checks: every message answered, every report a
ticket, no handler error, every POST answered 200.

    python bench/whatsapp_webhook.py                     # SQLite (temp file) and PostgreSQL
    python bench/whatsapp_webhook.py --messages 2000 --concurrency 64
    python bench/whatsapp_webhook.py --backends sqlite

For PostgreSQL it creates a database `bench_…` on the server of --database-url, and drops
it at the end. The outbox's pacing is not involved: replies are sent by the turn.
Progress goes to stderr; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import queue
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
from bench.telegram_webhook import (  # noqa: E402
    client_run,
    percentile,
    questions_from_knowledge,
    tickets_in,
)
from tests.channels.fake_whatsapp import (  # noqa: E402
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    FakeCloudApi,
    Webhooks,
)
from tests.channels.whatsapp_harness import actions_of  # noqa: E402

WEBHOOK = "/whatsapp/webhook"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: a reporter's flow after "/lapor <description>": the service by its typed number (more
#: services than a list holds), then type, impact, urgency and send as list rows/buttons
REPORT_STEPS = ("1", "type:gangguan", "imp:2", "urg:2", "rep:send")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_settings(db_url: str, api_url: str, data_dir: str) -> Any:
    from pydantic import SecretStr

    from bot.config import Settings

    return Settings(
        data_dir=Path(data_dir),
        database_url=db_url,
        _env_file=None,
        whatsapp_access_token=SecretStr(TOKEN),
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=SecretStr(APP_SECRET),
        whatsapp_verify_token=SecretStr(VERIFY_TOKEN),
        whatsapp_api_base_url=api_url,
    )


def serve(
    db_url: str, api_url: str, data_dir: str, ports: Any, stop: Any, errors: Any, work: bool
) -> None:
    """The product's web process; `work=False` as `helpdesk run` starts it beside a
    worker process (it only stores)."""
    import logging

    import uvicorn

    from bot.channels import whatsapp
    from bot.runtime import build
    from bot.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    helpdesk = build(bench_settings(db_url, api_url, data_dir))
    app = create_app(helpdesk, channels=[whatsapp.SPEC], run_jobs=work, work=work)
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
        channel = app.state.channels.get("whatsapp")
        if work:
            errors.put(len(channel.inbound.errors) if channel is not None else -1)

    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(run())


def work(db_url: str, api_url: str, data_dir: str, stop: Any, errors: Any) -> None:
    """The worker process `helpdesk run` starts (`helpdesk worker`, lower CPU priority)."""
    import logging
    import os

    from bot.channels import whatsapp
    from bot.cli import workers
    from bot.runtime import build
    from bot.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    os.nice(workers.NICENESS)
    helpdesk = build(bench_settings(db_url, api_url, data_dir))
    app = create_app(helpdesk, channels=[whatsapp.SPEC])

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await asyncio.to_thread(stop.wait)
            channel = app.state.channels.get("whatsapp")
            errors.put(len(channel.inbound.errors) if channel is not None else -1)

    asyncio.run(run())


@contextmanager
def product(db_url: str, api_url: str, split: bool) -> Iterator[tuple[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    ports, errors, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = ctx.Process(
            target=serve, args=(db_url, api_url, data_dir, ports, stop, errors, not split)
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
            if split:
                worker = ctx.Process(target=work, args=(db_url, api_url, data_dir, stop, errors))
                worker.start()
            yield url, errors
        finally:
            stop.set()
            for p in (proc, worker):
                if p is None:
                    continue
                p.join(30)
                if p.is_alive():
                    p.terminate()
                    p.join(10)


async def load(
    url: str,
    api: FakeCloudApi,
    questions: list[str],
    reporters: int,
    concurrency: int,
    first_number: int,
    reply_timeout: float = 120.0,
) -> dict[str, Any]:
    hooks = Webhooks()
    ack_ms: list[float] = []
    #: (number, POST start, log mark) of every message that must get a reply
    posted: list[tuple[str, float, int]] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as client:

        async def post(data: dict[str, Any], number: str) -> None:
            body = hooks.encode(data)
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": hooks.sign(body)}
            async with gate:
                mark = api.mark()
                start = time.monotonic()
                async with client.post(url + WEBHOOK, data=body, headers=headers) as response:
                    await response.read()
                ack_ms.append((time.monotonic() - start) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                posted.append((number, start, mark))

        async def ask(n: int, text: str) -> None:
            number = str(first_number + n)
            await post(hooks.text(number, text, name=f"Pegawai{n}"), number)

        async def shown(number: str, after: int, step: str) -> bool:
            """Whether the bot has sent what this step answers (a button or row with the
            step's action, or any message for a typed number)."""
            deadline = time.monotonic() + reply_timeout
            while time.monotonic() < deadline:
                calls = [c for c in api.since(after) if c.body.get("to") == number]
                if (step.isdigit() and calls) or any(step in actions_of(c) for c in calls):
                    return True
                await asyncio.sleep(0.02)
            return False

        async def report(n: int) -> None:
            number = str(first_number + len(questions) + n)
            mark = api.mark()
            text = "/lapor VPN kantor putus terus sejak pagi, tidak bisa membuka aplikasi"
            await post(hooks.text(number, text, name=f"Pelapor{n}"), number)
            for step in REPORT_STEPS:
                if not await shown(number, mark, step):
                    return
                mark = api.mark()
                message = hooks.text(number, step) if step.isdigit() else hooks.button(number, step)
                await post(message, number)

        began = time.monotonic()
        await asyncio.gather(
            *(ask(n, q) for n, q in enumerate(questions)), *(report(n) for n in range(reporters))
        )
        http_done = time.monotonic()

    def replies() -> list[float]:
        out = []
        for number, start, mark in posted:
            first = next((c for c in api.since(mark) if c.body.get("to") == number), None)
            if first is not None:
                out.append((first.at - start) * 1000)
        return out

    deadline = time.monotonic() + reply_timeout
    reply_ms = replies()
    while len(reply_ms) < len(posted) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        reply_ms = replies()
    numbers = {str(first_number + i) for i in range(len(questions) + reporters)}
    last_reply = max((c.at for c in api.sent() if c.body.get("to") in numbers), default=http_done)
    total = len(questions) + reporters * (1 + len(REPORT_STEPS))
    elapsed = max(last_reply, http_done) - began
    return {
        "messages": total,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(total / elapsed, 1),
        "ack_p50_ms": round(percentile(ack_ms, 0.50), 1),
        "ack_p99_ms": round(percentile(ack_ms, 0.99), 1),
        "reply_p50_ms": round(percentile(reply_ms, 0.50), 1),
        "reply_p99_ms": round(percentile(reply_ms, 0.99), 1),
        "ack_mean_ms": round(statistics.fmean(ack_ms), 1) if ack_ms else 0.0,
        "answered": len(reply_ms),
        "statuses": statuses,
    }


def run_backend(
    backend: str, args: argparse.Namespace, questions: list[str], reporters: int
) -> dict[str, Any]:
    api = FakeCloudApi().start()
    try:
        with fresh_database(None if backend == "sqlite" else args.database_url) as (_, db_url):
            with product(db_url, api.base_url, args.processes == "split") as (url, errors):
                log(f"{backend}: app up; warming up")
                client_run(load(url, api, questions[:20], 0, args.concurrency, 628900000000))
                log(
                    f"{backend}: {len(questions)} questions and {reporters} reports, "
                    f"concurrency {args.concurrency}"
                )
                result = client_run(
                    load(url, api, questions, reporters, args.concurrency, 628100000000)
                )
            result["tickets"] = tickets_in(db_url)
            try:
                result["handler_errors"] = errors.get(timeout=10)
            except queue.Empty:
                result["handler_errors"] = None
            result["ok"] = (
                result["answered"] == len(questions) + reporters * (1 + len(REPORT_STEPS))
                and result["tickets"] == reporters
                and result["statuses"] == {200: result["messages"]}
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
    parser.add_argument("--messages", type=int, default=600, help="messages in all")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--database-url", default=PG_DEFAULT)
    parser.add_argument(
        "--reporters",
        type=int,
        default=None,
        help="employees who report through the guided flow (6 messages each; default: 5%%)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--processes", choices=("split", "single"), default="split")
    args = parser.parse_args()

    steps = 1 + len(REPORT_STEPS)
    reporters = (
        args.reporters if args.reporters is not None else max(1, args.messages // 20 // steps)
    )
    questions = questions_from_knowledge(args.messages - reporters * steps, args.seed)
    out: dict[str, Any] = {
        "benchmark": "whatsapp_webhook",
        "concurrency": args.concurrency,
        "processes": args.processes,
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
