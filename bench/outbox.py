"""Outbox delivery with two replica processes on one PostgreSQL database.

Two phases, each with two fresh replica processes (`tests/outbox_worker.py`: the real
`bot.delivery.Deliverer` and claim, with a transport that writes every notice it is
handed to a file — the network edge — and sends nothing):

1. throughput: `--backlog` notices are queued, then both replicas drain them;
   `notices_per_s` = notices / (last handed − replicas released).
2. latency: notices are written by `notices.enqueue` in small transactions at `--rate`
   per second for `--seconds` while both replicas poll every `--poll` s;
   `p99_delivery_s` = 99th percentile of (handed to the channel − notice created).
   With the scheduler's default HELPDESK_DELIVERY_INTERVAL=2 the poll interval, not the
   database, sets the latency: about the interval itself.

Both phases check that every notice was handed over exactly once.

    python bench/outbox.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The run creates `bench_<random>` on that server and drops it. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _fresh_db import fresh_database
from sqlalchemy.engine import Engine

from bot.core import notices
from storage.db import session_scope

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "bench"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def replicas(
    url: str, tmp: Path, phase: str, poll: float, batch: int
) -> tuple[list[subprocess.Popen[bytes]], list[Path], Path]:
    barrier = tmp / f"{phase}.go"
    outs = [tmp / f"{phase}-{i}.tsv" for i in (1, 2)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.outbox_worker",
                url,
                "record",
                str(out),
                "--barrier",
                str(barrier),
                "--deadline",
                "600",
                "--batch",
                str(batch),
                "--idle-exit",
                "1.5",
                "--poll",
                str(poll),
            ],
            cwd=ROOT,
            env=env,
        )
        for out in outs
    ]
    return procs, outs, barrier


def read(outs: list[Path]) -> list[tuple[int, float, float, int]]:
    found = []
    for n, out in enumerate(outs):
        for line in out.read_text().splitlines():
            nid, created, handed = line.split("\t")
            found.append((int(nid), float(created), float(handed), n))
    return found


def enqueue(engine: Engine, first: int, count: int) -> None:
    with session_scope(engine) as s:
        now = datetime.now(UTC)
        for i in range(first, first + count):
            notices.enqueue(
                s,
                channel=CHANNEL,
                target=str(i % 97),
                kind="bench",
                payload={"text": f"pesan {i}"},
                dedupe_key=f"bench:{i}",
                now=now,
            )


def wait_ready(procs: list[subprocess.Popen[bytes]], barrier: Path) -> None:
    time.sleep(1.5)  # imports and engine of both replicas
    barrier.touch()


def check_once(found: list[tuple[int, float, float, int]], expected: int, phase: str) -> None:
    ids = [f[0] for f in found]
    if len(ids) != expected or len(set(ids)) != expected:
        raise SystemExit(
            f"{phase}: {len(ids)} handed, {len(set(ids))} distinct, {expected} expected"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--backlog", type=int, default=20_000)
    parser.add_argument(
        "--rate", type=float, default=200.0, help="notices per second in the latency phase"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--poll", type=float, default=0.05, help="replica poll interval when idle (s)"
    )
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        raise SystemExit(
            "several replicas need PostgreSQL: pass --database-url postgresql+psycopg://…"
        )
    with (
        fresh_database(args.database_url) as (engine, url),
        tempfile.TemporaryDirectory() as tmp_name,
    ):
        tmp = Path(tmp_name)
        # 1. throughput on a backlog
        for first in range(0, args.backlog, 1000):
            enqueue(engine, first, min(1000, args.backlog - first))
        procs, outs, barrier = replicas(url, tmp, "drain", args.poll, args.batch)
        wait_ready(procs, barrier)
        released = time.time()
        if any(p.wait(timeout=900) for p in procs):
            raise SystemExit("a replica failed")
        drained = read(outs)
        check_once(drained, args.backlog, "throughput")
        elapsed = max(f[2] for f in drained) - released
        per_replica = [sum(1 for f in drained if f[3] == n) for n in (0, 1)]
        log(f"throughput: {args.backlog} notices in {elapsed:.2f} s, per replica {per_replica}")

        # 2. latency at a steady rate
        procs, outs, barrier = replicas(url, tmp, "steady", args.poll, args.batch)
        wait_ready(procs, barrier)
        total = int(args.rate * args.seconds)
        step = max(1, int(args.rate / 50))  # one small transaction every ~20 ms
        start = time.monotonic()
        first = args.backlog
        for i in range(0, total, step):
            target = start + i / args.rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            enqueue(engine, first + i, min(step, total - i))
        if any(p.wait(timeout=900) for p in procs):
            raise SystemExit("a replica failed")
        steady = read(outs)
        check_once(steady, total, "latency")
        latencies = [f[2] - f[1] for f in steady]
        result = {
            "backend": "postgresql",
            "replicas": 2,
            "notices_per_s": round(args.backlog / elapsed, 1),
            "backlog": args.backlog,
            "per_replica": per_replica,
            "p99_delivery_s": round(percentile(latencies, 0.99), 4),
            "p50_delivery_s": round(percentile(latencies, 0.50), 4),
            "steady_rate_per_s": args.rate,
            "steady_notices": total,
            "poll_interval_s": args.poll,
            "batch": args.batch,
            "delivered_exactly_once": True,
        }
        log(
            f"latency at {args.rate}/s: p50 {result['p50_delivery_s']} s, p99 {result['p99_delivery_s']} s"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
