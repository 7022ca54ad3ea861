"""A delivery replica as its own OS process, for the outbox tests and bench/outbox.py.

    python -m tests.outbox_worker URL MODE OUT [--lease S] [--barrier FILE] [--deadline S]

MODE "record": deliver until no pending or leased notice is left, writing one line
"id<TAB>created_at<TAB>handed_at" per notice handed to the channel (the network edge).
MODE "block": write the id of the first notice handed over, then hang inside the send,
as a replica that is killed in the middle of delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col

from bot.delivery import Deliverer
from storage.db import make_engine
from storage.models import Notice

CHANNEL = "bench"


class FileTransport:
    def __init__(self, out: Path, block: bool) -> None:
        self.fh = open(out, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self.block = block

    async def send(self, notice: Notice) -> str | None:
        self.fh.write(f"{notice.id}\t{notice.created_at.timestamp():.6f}\t{time.time():.6f}\n")
        self.fh.flush()
        if self.block:
            await asyncio.sleep(3600)
        return None


def _left(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        stmt = (
            sa.select(sa.func.count())
            .select_from(Notice)
            .where(col(Notice.channel) == CHANNEL, col(Notice.status).in_(["pending", "sending"]))
        )
        return int(conn.execute(stmt).scalar_one())


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("mode", choices=["record", "block"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--barrier", type=Path)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--poll", type=float, default=0.01, help="sleep when nothing was sent")
    parser.add_argument(
        "--idle-exit", type=float, default=0.0, help="stop after this long with nothing left"
    )
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    deliverer = Deliverer(engine, lease=timedelta(seconds=args.lease))
    deliverer.register(CHANNEL, FileTransport(args.out, args.mode == "block"))
    if args.barrier:
        while not args.barrier.exists():
            await asyncio.sleep(0.005)
    end = time.monotonic() + args.deadline
    idle_since: float | None = None
    while time.monotonic() < end:
        sent = await deliverer.tick(limit=args.batch)
        if sent:
            idle_since = None
            continue
        if _left(engine) == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= args.idle_exit:
                return 0
        await asyncio.sleep(args.poll)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
