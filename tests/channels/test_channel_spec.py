"""The channel specification: a channel defined entirely in this module is mounted,
started, holds a conversation and gets its outbox notices, with no edit anywhere else;
the shared pieces every adapter uses (split_text, first_delivery); and the registered
channels' specs agree with themselves."""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.testclient import TestClient

from bot.channels import registry
from bot.channels.base import (
    Capabilities,
    ChannelSpec,
    Slot,
    choices_of,
    first_delivery,
    split_text,
    utf16_len,
)
from bot.config import Settings
from bot.delivery import Deliverer, Pacing
from bot.dialogue.messages import Incoming
from bot.intake import Intake
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Notice
from tests.helpers import Chat

# -- a whole channel, defined here ------------------------------------------------------

ECHO = "echo"


class Recorder:
    """The echo platform's outbox transport: it keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notice: Notice) -> str | None:
        self.sent.append(notice)
        return f"echo-{len(self.sent)}"


class EchoChannel:
    """The running channel: what the start hook returns and the route reaches."""

    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk
        self.transport = Recorder()
        self.stopped = False

    async def inbound(self, request: Request) -> Response:
        data = json.loads(await request.body())
        msg = Incoming(
            channel=ECHO,
            chat_id=data["user"],
            user_id=data["user"],
            text=data.get("text"),
            action=data.get("action"),
        )
        replies = await asyncio.to_thread(self.helpdesk.conversations.handle, msg)
        return JSONResponse(
            {
                "replies": [
                    {
                        "pieces": ECHO_SPEC.capabilities.split(r.text),
                        "actions": [c.action for c in r.choices],
                    }
                    for r in replies
                ]
            }
        )


def echo_routes(_helpdesk: Helpdesk, slot: Slot[EchoChannel]) -> Sequence[BaseRoute]:
    return [slot.route("/echo/in", EchoChannel.inbound, methods=["POST"])]


async def echo_start(
    helpdesk: Helpdesk, deliverer: Deliverer, _intake: Intake, stack: AsyncExitStack
) -> EchoChannel:
    channel = EchoChannel(helpdesk)
    deliverer.register(ECHO, channel.transport)

    def stop() -> None:
        channel.stopped = True

    stack.callback(stop)
    return channel


def echo_enabled(_settings: Settings) -> bool:
    return True


ECHO_SPEC: ChannelSpec[EchoChannel] = ChannelSpec(
    name=ECHO,
    enabled=echo_enabled,
    capabilities=Capabilities(delivery="push", buttons=True, max_length=200),
    pacing=Pacing(rate=1000.0),
    routes=echo_routes,
    start=echo_start,
)


def say(client: TestClient, **body: str) -> list[dict[str, Any]]:
    res = client.post("/echo/in", json={"user": "e-1", **body})
    assert res.status_code == 200
    return list(res.json()["replies"])


def test_a_channel_defined_in_a_test_is_mounted_started_and_gets_its_notices(
    helpdesk: Helpdesk,
) -> None:
    app = create_app(helpdesk, channels=[ECHO_SPEC], run_jobs=False)
    assert TestClient(app).post("/echo/in", json={"user": "e-1"}).status_code == 503  # not started
    with TestClient(app) as client:
        channel = app.state.channels[ECHO]
        assert isinstance(channel, EchoChannel)
        assert client.get("/chat").status_code == 404  # only the channels it was given
        replies = say(client, text="/mulai")
        assert any("menu:report" in r["actions"] for r in replies)
        assert all(len(p) <= 200 for r in replies for p in r["pieces"])
        say(client, text="/lapor aplikasi presensi tidak bisa dibuka")
        for action in ("svc:presensi", "type:gangguan", "imp:2", "urg:2"):
            say(client, action=action)
        text = say(client, action="rep:send")[0]["pieces"][0]
        number = text.split("nomor ")[1].split(" ")[0]
        assert number.startswith("INC-")
        operator = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "presensi"))
        operator.say(f"/ambil {number}")
        assert client.portal.call(app.state.deliverer.tick) >= 1
        sent = channel.transport.sent
        assert {(n.channel, n.target) for n in sent} == {(ECHO, "e-1")}
        assert any(number in n.payload["text"] and "dikerjakan" in n.payload["text"] for n in sent)
        assert ECHO in app.state.deliverer.limiter.rates  # paced by its own spec
    assert channel.stopped
    assert client.post("/echo/in", json={"user": "e-1"}).status_code == 503  # stopped


def test_the_registry_functions_take_a_list_of_specs(settings: Settings) -> None:
    specs = [*registry.CHANNELS, ECHO_SPEC]
    assert ECHO_SPEC in registry.enabled_specs(settings, specs)
    assert registry.spec(ECHO, specs) is ECHO_SPEC
    assert registry.push_channels(settings, specs) == {ECHO}  # nothing else configured
    assert registry.push_channels(specs=specs) == {"telegram", "slack", "whatsapp", ECHO}
    assert registry.push_channels() == {"telegram", "slack", "whatsapp"}
    with pytest.raises(KeyError):
        registry.spec(ECHO)


def test_two_channels_claiming_one_path_are_refused(helpdesk: Helpdesk) -> None:
    twin: ChannelSpec[EchoChannel] = ChannelSpec(
        name="echo2", enabled=echo_enabled, capabilities=ECHO_SPEC.capabilities, routes=echo_routes
    )
    with pytest.raises(ValueError, match="/echo/in"):
        create_app(helpdesk, channels=[ECHO_SPEC, twin], run_jobs=False)


# -- the registered channels ------------------------------------------------------------


@pytest.mark.parametrize("spec", registry.CHANNELS, ids=lambda s: s.name)
def test_every_registered_spec_is_consistent(spec: ChannelSpec[Any], helpdesk: Helpdesk) -> None:
    caps = spec.capabilities
    assert spec.name.isidentifier() and spec.name == spec.name.lower()
    assert len(spec.name) <= 20  # the channel columns
    assert registry.spec(spec.name) is spec
    assert isinstance(spec.enabled(helpdesk.settings), bool)
    if caps.push:  # a transport must be registered by someone: its start hook
        assert spec.start is not None
    else:  # pull channels are not sent to, so they are not paced, and nothing is edited
        assert spec.pacing == Pacing()
        assert not caps.edits
    assert caps.max_length is None or caps.max_length > 0
    assert caps.measure("") == 0 and caps.measure("abc") == 3
    assert caps.measure("é😀") >= 2  # no measure counts a character as less than one
    paths = [getattr(r, "path", "") for r in spec.routes(helpdesk, Slot(spec.name))]
    assert len(paths) == len(set(paths))


def test_registered_names_are_unique_and_pacing_comes_from_the_specs(
    settings: Settings, engine: Engine
) -> None:
    names = [s.name for s in registry.CHANNELS]
    assert len(names) == len(set(names))
    limiter = Deliverer.from_settings(engine, settings, registry.pacing()).limiter
    # the figures DELIVERY_CHANNEL_RATES / DELIVERY_TARGET_INTERVALS always defaulted to
    assert limiter.rates == {"telegram": 30.0, "slack": 20.0, "whatsapp": 80.0}
    assert limiter.intervals == {
        "telegram": 1.0,
        "telegram_group": 3.0,
        "slack": 1.0,
        "whatsapp": 6.0,
    }
    assert limiter._interval("telegram", "-1001") == 3.0
    assert limiter._interval("telegram", "1001") == 1.0
    assert limiter._interval("slack", "-C1") == 1.0  # Telegram's group rule is Telegram's
    given_table = settings.model_copy(
        update={"delivery_channel_rates": {}, "delivery_target_intervals": {"telegram": 2.0}}
    )
    limiter = Deliverer.from_settings(engine, given_table, registry.pacing()).limiter
    assert (limiter.rates, limiter.intervals) == ({}, {"telegram": 2.0})  # replaces, as before
    assert limiter._interval("telegram", "-1001") == 2.0


def test_the_webchat_spec_declares_the_chat_routes(helpdesk: Helpdesk) -> None:
    web = registry.spec("web")
    paths = {getattr(r, "path", "") for r in web.routes(helpdesk, Slot("web"))}
    assert paths == {
        "/chat",
        "/api/chat",
        "/api/chat/notices",
        "/api/chat/history",
        "/api/chat/documents/{line_id:int}",
        "/chat/subscribe",
    }
    assert web in registry.enabled_specs(helpdesk.settings)
    assert registry.spec("console") not in registry.enabled_specs(helpdesk.settings)


# -- shared pieces ----------------------------------------------------------------------


def test_split_text_counts_in_the_measure_given() -> None:
    assert split_text("  pendek  ", 10) == ["pendek"]
    assert split_text("", 10) == []
    assert split_text("satu dua tiga empat", 10) == ["satu dua", "tiga empat"]
    assert split_text("baris satu\nbaris dua", 15) == ["baris satu", "baris dua"]
    assert split_text("para satu\n\npara dua lagi", 16) == ["para satu", "para dua lagi"]
    emoji = "😀" * 5  # 10 UTF-16 units, 5 characters
    assert split_text(emoji, 5) == [emoji]
    assert split_text(emoji, 5, utf16_len) == ["😀😀", "😀😀", "😀"]  # 5 units: never 2½ emoji


def test_split_text_never_cuts_a_surrogate_pair_at_an_odd_limit() -> None:
    text = "a" + "😀" * 3000  # every cut at an odd unit would fall inside a pair
    pieces = split_text(text, 4095, utf16_len)
    assert [utf16_len(p) for p in pieces] == [4095, 1906]
    assert "".join(pieces) == text
    for piece in pieces:
        piece.encode("utf-16-le")  # no lone surrogate anywhere


@examples(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab \n😀é𝔸")), max_size=300),
    limit=st.integers(min_value=2, max_value=40),
)
def test_split_text_keeps_every_character_within_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit, utf16_len)
    assert all(0 < utf16_len(p) <= limit for p in pieces)
    assert all(p == p.strip() for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )


def test_first_delivery_is_true_once_per_channel_and_key(engine: Engine) -> None:
    assert first_delivery(engine, ECHO, "update-1")
    assert not first_delivery(engine, ECHO, "update-1")  # redelivered
    assert first_delivery(engine, "other", "update-1")  # keys are per channel
    long = "k" * 300  # cut to the column's length, consistently
    assert first_delivery(engine, ECHO, long)
    assert not first_delivery(engine, ECHO, long[:200] + "different tail")


def test_first_delivery_in_a_session_is_part_of_its_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        assert first_delivery(s, ECHO, "turn-1")
        raise RuntimeError("the turn failed")
    with session_scope(engine) as s:  # rolled back with the turn: the redelivery is taken
        assert first_delivery(s, ECHO, "turn-1")
        assert not first_delivery(s, ECHO, "turn-1")


def test_choices_of_an_outbox_payload() -> None:
    (choice,) = choices_of([{"label": "Ambil", "action": "t:take:INC-1"}])
    assert (choice.label, choice.action) == ("Ambil", "t:take:INC-1")
    assert choices_of(None) == []


# -- the layering the specs make possible -----------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path, package: str) -> set[str]:
    """Every module a file imports: module level, in functions, under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base + [node.module or ""]) if node.level else node.module or ""
            found.add(module.rstrip("."))
            found.update(f"{module}.{a.name}" for a in node.names)
    return found


def channel_modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "bot" / "channels").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def test_channel_modules_import_no_web_app_and_form_no_cycle() -> None:
    modules = channel_modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = imports_of(path, package)
        assert "bot.web.app" not in found, name
        # a submodule's import of its own package is only Python's way to reach a sibling
        graph[name] = {m for m in found if m in modules and m != name and m != package}
    seen: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        seen[name] = 1
        for dep in graph[name]:
            assert seen.get(dep) != 1, " -> ".join([*path, name, dep])
            if dep not in seen:
                visit(dep, [*path, name])
        seen[name] = 2

    for name in graph:
        if name not in seen:
            visit(name, [])


@pytest.mark.parametrize("module", ["bot/delivery.py", "bot/web/app.py", "bot/jobs.py"])
def test_no_channel_is_named_outside_the_channels(module: str) -> None:
    names = {s.name for s in registry.CHANNELS} - {"web"}  # "web" is also the app's word
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert not {s for s in strings if isinstance(s, str) and s.split("_")[0] in names}
