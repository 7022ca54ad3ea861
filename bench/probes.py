"""Availability probes at scale on loopback.

1,000 services (default) are probed over HTTP on 127.0.0.1, served by aiohttp in a
separate process (so its CPU does not count); in the middle of the second round some
services start answering 503. Time is compressed: a probe interval of 10 s (the smallest a
service may ask for) instead of 60 s, so the load is six times the real one; the
scheduler tick every 0.5 s.

Reported (JSON on the last line):
- cpu_share: CPU seconds (user + system) of this process over wall seconds while probing
  — the prober, the state machine and the database client; a PostgreSQL server's own CPU
  is not included;
- p99_alert_s: p99 over the failed services of the time from going down to the
  "service.down" alert post in the outbox. It needs `down_after` (3) failed probes in a
  row, so it is about (down_after - 0.5) × interval here; with the real 60 s interval,
  multiply by six;
- status_render_ms: median time to build and render /status with 100 services and 90 days
  of history.

Usage: python bench/probes.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
A PostgreSQL URL names the server: a fresh database bench_probes_<random> is created
there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench._fresh_db import fresh_database  # noqa: E402
from bot.core import alerts  # noqa: E402
from bot.core.availability import bump_days  # noqa: E402
from bot.core.probes import Prober  # noqa: E402
from bot.web import status  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models import Alert, Notice, Outage, Service, ServiceState, utcnow  # noqa: E402

TZ = "Asia/Jakarta"


def serve(ports: int, ready: mp.Queue, control: mp.Queue) -> None:  # type: ignore[type-arg]
    """The fleet of services: /svc/N answers 200 unless N was marked down."""
    from aiohttp import web

    down: set[int] = set()

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.Response(status=503 if n in down else 200, text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/svc/{n}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        found = []
        for _ in range(ports):
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            found.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        ready.put(found)
        loop = asyncio.get_running_loop()
        while True:
            msg = await loop.run_in_executor(None, control.get)
            if msg is None:
                break
            down.update(msg)
        await runner.cleanup()

    asyncio.run(main())


async def probe_run(
    engine: sa.Engine,
    services: int,
    interval: int,
    rounds: int,
    failing: list[int],
    controls: list[mp.Queue],
    concurrency: int,
) -> dict[str, float]:  # type: ignore[type-arg]
    prober = Prober(
        engine, concurrency=concurrency, timeout=5, down_after=3, up_after=2, timezone=TZ
    )
    tick_every = 0.5
    went_down = None
    start_wall, start_cpu = time.perf_counter(), os.times()
    deadline = start_wall + rounds * interval
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        n = len(await prober.tick(utcnow()))
        if os.environ.get("BENCH_DEBUG"):
            print(
                f"tick at {t0 - start_wall:5.1f}s: {n} probes in {time.perf_counter() - t0:.2f}s",
                file=sys.stderr,
            )
        if went_down is None and t0 - start_wall >= 1.5 * interval:  # mid-round
            for c in controls:
                c.put(failing)
            went_down = utcnow()
        await asyncio.sleep(max(0.0, tick_every - (time.perf_counter() - t0)))
    wall = time.perf_counter() - start_wall
    end_cpu = os.times()
    await prober.aclose()
    cpu = (end_cpu.user - start_cpu.user) + (end_cpu.system - start_cpu.system)
    with Session(engine) as s:
        service_of = dict(
            s.execute(
                sa.select(Alert.id, Alert.service_id).where(Alert.kind == "service.down")
            ).all()
        )
        firsts: dict[str, object] = {}
        for key, created in s.execute(
            sa.select(Notice.dedupe_key, Notice.created_at).where(Notice.kind == "alert.post")
        ):
            sid = service_of.get(int(key.split(":")[1]))
            if sid is not None and (sid not in firsts or created < firsts[sid]):
                firsts[sid] = created
        checks = s.execute(sa.text("SELECT SUM(checks) FROM serviceday")).scalar_one()
    assert went_down is not None
    delays = sorted(
        (firsts[f"s{n:04d}"] - went_down).total_seconds() for n in failing if f"s{n:04d}" in firsts
    )
    p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))] if delays else float("nan")
    return {
        "cpu_share": cpu / wall,
        "wall_s": wall,
        "cpu_s": cpu,
        "checks": int(checks or 0),
        "alerts": len(delays),
        "failing": len(failing),
        "p99_alert_s": p99,
        "p50_alert_s": statistics.median(delays) if delays else float("nan"),
    }


def render_bench(engine: sa.Engine, n: int = 100, runs: int = 15) -> float:
    """Keep 100 services with 90 days of rollups and a few outages; time /status."""
    now = utcnow()
    with session_scope(engine) as s:
        s.execute(sa.update(Service).where(Service.id >= f"s{n:04d}").values(active=False))
        s.execute(sa.update(ServiceState).values(monitored_since=now - timedelta(days=90)))
        rows = []
        for i in range(n):
            for d in range(90):
                day = (now - timedelta(days=d)).date()
                rows.append(
                    {
                        "service_id": f"s{i:04d}",
                        "day": day,
                        "down_s": (i * d) % 7 * 60 if d % 11 == 0 else 0,
                        "maintenance_s": 3600 if (i + d) % 30 == 0 else 0,
                        "checks": 1440,
                    }
                )
        bump_days(s, rows)
    ctx_times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        data = status.snapshot(engine, utcnow(), TZ)
        html = status.templates.get_template("status.html").render(
            status.render_context(data, "id", TZ)
        )
        ctx_times.append((time.perf_counter() - t0) * 1000)
    assert len(data["services"]) == n and html.count('class="card service"') == n
    return statistics.median(ctx_times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--database-url")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument(
        "--interval", type=int, default=10, help="seconds; 10 is the smallest a service may ask for"
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--failing", type=int, default=50)
    ap.add_argument("--ports", type=int, default=12)
    ap.add_argument("--server-procs", type=int, default=4, help="processes serving the fleet")
    ap.add_argument("--concurrency", type=int, default=100)
    args = ap.parse_args()

    cleanup = ExitStack()
    engine, _url = cleanup.enter_context(fresh_database(args.database_url))
    spawn = mp.get_context("spawn")
    ready: mp.Queue = spawn.Queue()  # type: ignore[type-arg]
    controls = [spawn.Queue() for _ in range(args.server_procs)]  # type: ignore[var-annotated]
    servers = [
        spawn.Process(
            target=serve, args=(max(1, args.ports // args.server_procs), ready, c), daemon=True
        )
        for c in controls
    ]
    for server in servers:
        server.start()
    try:
        ports = [p for _ in servers for p in ready.get(timeout=30)]
        with session_scope(engine) as s:
            for i in range(args.services):
                s.add(
                    Service(
                        id=f"s{i:04d}",
                        name=f"Layanan {i:04d}",
                        criticality=("tinggi", "sedang", "rendah")[i % 3],
                        probe={
                            "type": "http",
                            "target": f"http://127.0.0.1:{ports[i % len(ports)]}/svc/{i}",
                            "interval": args.interval,
                        },
                    )
                )
            s.flush()
            alerts.register_operator_channel(s, "telegram", "-100123", None, name="ops")
        failing = list(range(0, args.services, max(1, args.services // args.failing)))[
            : args.failing
        ]
        result = asyncio.run(
            probe_run(
                engine,
                args.services,
                args.interval,
                args.rounds,
                failing,
                controls,
                args.concurrency,
            )
        )
        with Session(engine) as s:
            result["outages"] = len(list(s.exec(select(Outage.id))))
        result["status_render_ms"] = render_bench(engine)
        result["database"] = engine.dialect.name
        result["services"] = args.services
        result["interval_s"] = args.interval
    finally:
        for c in controls:
            c.put(None)
        for server in servers:
            server.join(timeout=5)
            if server.is_alive():
                server.terminate()
        cleanup.close()
    print(
        f"{result['database']}: {result['services']} services every {result['interval_s']} s: "
        f"{result['checks']} checks in {result['wall_s']:.1f} s, CPU {result['cpu_s']:.1f} s "
        f"({100 * result['cpu_share']:.1f} %); {result['alerts']}/{result['failing']} down services alerted, "
        f"p50 {result['p50_alert_s']:.1f} s, p99 {result['p99_alert_s']:.1f} s; "
        f"status page {result['status_render_ms']:.1f} ms",
        file=sys.stderr,
    )
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
