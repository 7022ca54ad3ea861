"""The product writing tickets as fast as it can, as its own OS process, for the test
that kills it mid-write and restores the last backup (tests/unit/test_backup_crash.py).

    python -m tests.ticket_writer URL

Each ticket is opened through the core (`tickets.open_ticket`, its events and alerts
included) in its own transaction; its number is printed only after the commit returned,
which is when the bot would have confirmed it to the reporter.
"""

from __future__ import annotations

import sys

from bot.core import tickets
from storage.db import make_engine, session_scope


def main(url: str) -> None:
    engine = make_engine(url)
    n = 0
    while True:
        n += 1
        with session_scope(engine) as s:
            ticket = tickets.open_ticket(
                s,
                type_="gangguan",
                title=f"beban tulis {n}",
                description="x" * 200,
                service_id="vpn",
            )
            number = ticket.number
        sys.stdout.write(number + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
