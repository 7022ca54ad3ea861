"""`helpdesk run` with a worker process: the web process only stores and acknowledges
Telegram updates, the worker process answers them; a worker that dies is started again
and its events are still answered; stopping `helpdesk run` stops its workers.

Real processes (the `helpdesk` command line as a user starts it) on the test database,
against the fake Bot API on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import InboxEvent
from tests.channels.fake_telegram import TOKEN, FakeBotApi, Updates

SECRET = "worker-test-secret"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_for(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


def test_the_web_process_acknowledges_and_the_worker_answers(
    db_url: str, tmp_path: Path, api: FakeBotApi
) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the worker processes")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "HELPDESK_DATA_DIR": str(tmp_path / "data"),
        "HELPDESK_LOG_LEVEL": "WARNING",
        "HELPDESK_PORT": str(port),
        "HELPDESK_WORKER_PROCESSES": "1",
        "HELPDESK_INBOX_LEASE": "1",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.url,
        "TELEGRAM_WEBHOOK_URL": "https://helpdesk.example.go.id/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_RATE_LIMIT": "0",
        "PYTHONPATH": str(REPO),
    }
    run = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    engine = make_engine(db_url)
    ups = Updates(start=80_000)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    def up() -> bool:
        assert run.poll() is None, "helpdesk run exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def post(n: int) -> None:
        user = Updates.user(810_000 + n, f"Pegawai{n}")
        update = ups.text(user, "bagaimana cara reset password email dinas?")
        response = httpx.post(f"{url}/telegram/webhook", json=update, headers=headers, timeout=30)
        assert response.status_code == 200

    def answered() -> set[int]:
        return {int(c.params["chat_id"]) for c in api.sent()}

    def workers_of_events() -> set[str]:
        with Session(engine) as s:
            return set(s.exec(select(InboxEvent.worker).where(col(InboxEvent.state) == "done")))

    try:
        wait_for(up, 120)
        wait_for(lambda: len(children_of(run.pid)) == 1)
        (first,) = children_of(run.pid)
        for n in range(5):
            post(n)
        wait_for(lambda: len(answered()) == 5)
        # the worker process worked on them, not the web process that received them
        pids = {int(w.split(":")[1]) for w in workers_of_events() if w}
        assert pids == {first}, pids

        # a worker that dies is started again, and what it had not done is done
        os.kill(first, signal.SIGKILL)
        for n in range(5, 10):
            post(n)  # acknowledged while no worker runs
        wait_for(lambda: children_of(run.pid) not in ([], [first]))
        wait_for(lambda: len(answered()) == 10)

        def unfinished() -> int:
            with Session(engine) as s:
                return int(
                    s.exec(
                        select(func.count()).where(
                            col(InboxEvent.state).in_(("pending", "processing"))
                        )
                    ).one()
                )

        # an answered event is marked done right after, in the worker's next batch
        wait_for(lambda: unfinished() == 0)
        (second,) = children_of(run.pid)
        assert second != first
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(30)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
            engine.dispose()
    # stopping `helpdesk run` stopped its worker too
    assert run.returncode == 0
    wait_for(lambda: not Path(f"/proc/{second}").exists() or _zombie(second), 20)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_worker_stops_when_its_helpdesk_run_is_killed(db_url: str, tmp_path: Path) -> None:
    """Even a SIGKILL of `helpdesk run` (no chance to stop its workers) leaves no worker
    behind: the worker sees its parent gone and stops."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "HELPDESK_DATA_DIR": str(tmp_path / "data"),
        "HELPDESK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    # the shell stands in for `helpdesk run`: it starts the worker as its child
    shell = subprocess.Popen(
        ["sh", "-c", f"{sys.executable} -m bot.cli worker --parent $$ & echo $!; wait"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert shell.stdout is not None
    worker = int(shell.stdout.readline())
    time.sleep(0.5)
    assert Path(f"/proc/{worker}").exists() and not _zombie(worker)
    os.kill(shell.pid, signal.SIGKILL)
    shell.wait(10)
    try:
        wait_for(lambda: not Path(f"/proc/{worker}").exists() or _zombie(worker), 90)
    finally:
        if Path(f"/proc/{worker}").exists() and not _zombie(worker):
            os.kill(worker, signal.SIGKILL)
