"""The router is made of the flows' declarations: a new flow needs no edit elsewhere, two
flows cannot claim the same thing, and every state a flow moves to is declared once."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest
from sqlmodel import Session, select

import bot.dialogue.flows as flows_package
from bot.dialogue.engine import Conversations
from bot.dialogue.flows import DEFAULT_FLOWS, faq, general, problems
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, RouteConflict, Router, Text
from bot.dialogue.turn import IDLE, Turn
from bot.runtime import Helpdesk
from storage.models import Conversation
from tests.helpers import Chat

# -- a flow of the test's own: /gema echoes, or asks twice and echoes both answers --------

ASK = "gema_ask"
AGAIN = "gema_again"


def _gema(turn: Turn, args: str) -> list[Reply]:
    if args:
        return turn.say(args)
    turn.go(ASK, keep=False)
    return turn.say("Apa yang digemakan?", [Choice("Batal", "cancel")])


def _first(turn: Turn, text: str) -> list[Reply]:
    turn.go(AGAIN, keep=True, first=text)
    return turn.say(f"{text}? Sekali lagi:", [Choice("Ulangi", "gema:ulang")])


def _second(turn: Turn, text: str) -> list[Reply]:
    echoed = f"{turn.data['first']} {text}"
    turn.reset()
    return turn.say(echoed)


def _repeat(turn: Turn, _value: str) -> list[Reply]:
    return turn.say(turn.data["first"], [Choice("Ulangi", "gema:ulang")])


GEMA = Flow(
    name="gema",
    commands={("gema", "echo"): _gema},
    buttons={"gema:ulang": Button(_repeat, states=(AGAIN,), exact=True)},
    states={ASK: _first, AGAIN: _second},
)


def state_of(helpdesk: Helpdesk, chat_id: str) -> str:
    with Session(helpdesk.engine) as s:
        return s.exec(select(Conversation.state).where(Conversation.chat_id == chat_id)).one()


def test_a_flow_of_the_test_runs_end_to_end(helpdesk: Helpdesk) -> None:
    conversations = Conversations(helpdesk.engine, helpdesk.kb, flows=[*DEFAULT_FLOWS, GEMA])
    chat = Chat(dataclasses.replace(helpdesk, conversations=conversations), "web", "gema-user")
    chat.say("/gema halo dunia")
    assert chat.text == "halo dunia"
    chat.say("/echo")
    assert chat.text == "Apa yang digemakan?" and state_of(helpdesk, "gema-user") == ASK
    chat.say("satu")
    assert "Sekali lagi" in chat.text and state_of(helpdesk, "gema-user") == AGAIN
    chat.press("gema:ulang")
    assert chat.text == "satu"
    chat.say("1")  # a typed choice presses the button too
    assert chat.text == "satu"
    chat.say("dua")
    assert chat.text == "satu dua" and state_of(helpdesk, "gema-user") == IDLE
    chat.act("gema:ulang")  # the state has passed: stale, like any flow's button
    assert "tidak berlaku" in chat.text
    chat.say("/lapor")  # the default flows still answer
    assert state_of(helpdesk, "gema-user") == "report_service"
    chat.say("/gema")
    chat.say("/batal")  # the general flow's cancel leaves the test flow too
    assert "dibatalkan" in chat.text.lower() and state_of(helpdesk, "gema-user") == IDLE


def test_the_default_registry_does_not_know_the_test_flow(helpdesk: Helpdesk) -> None:
    chat = Chat(helpdesk, "web", "plain-user")
    chat.say("/gema halo")
    assert "tidak dikenal" in chat.text


# -- conflicts are refused when the router is built ----------------------------------------


def _noop(turn: Turn, _text: str) -> list[Reply]:
    return turn.replies


@pytest.mark.parametrize(
    ("intruder", "message"),
    [
        (Flow("dup", commands={("laporkan", "report"): _noop}), "command 'report'.*guided_report"),
        (Flow("dup", buttons={"svc": Button(_noop)}), "button prefix 'svc'.*guided_report"),
        (Flow("dup", states={"report_service": _noop}), "state 'report_service'.*guided_report"),
        (Flow("dup", states={IDLE: Text.AS_IDLE}), "state 'idle'"),
        (Flow("dup", fallback=_noop), "fallback.*'faq' and 'dup'"),
        (Flow("dup", buttons={"x": Button(_noop, states=("nowhere",))}), "no state 'nowhere'"),
        (Flow("dup", group_text=("resolve_note",)), "not its own"),
        (Flow("dup", commands={("Gema",): _noop}), "bad command name"),
        (Flow("dup", commands={("ge ma",): _noop}), "bad command name"),
    ],
)
def test_conflicting_claims_are_refused(intruder: Flow, message: str) -> None:
    with pytest.raises(RouteConflict, match=message):
        Router([*DEFAULT_FLOWS, intruder])


def test_a_claim_twice_within_the_test_flows_is_refused() -> None:
    echo_again = Flow("echo", commands={("echo",): _noop})
    with pytest.raises(RouteConflict, match="command 'echo' claimed by flow 'gema' and 'echo'"):
        Router([*DEFAULT_FLOWS, GEMA, echo_again])


def test_the_engine_refuses_conflicts_at_construction(helpdesk: Helpdesk) -> None:
    with pytest.raises(RouteConflict):
        Conversations(helpdesk.engine, helpdesk.kb, flows=[*DEFAULT_FLOWS, GEMA, GEMA])


def test_a_router_needs_the_idle_fallback() -> None:
    with pytest.raises(RouteConflict, match="fallback"):
        Router([general.FLOW])
    assert Router([general.FLOW, faq.FLOW])  # the rest is optional


# -- every state used by a default flow is declared by exactly one flow --------------------


def flow_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{flows_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(flows_package.__path__)
    ]


def _resolve(module: ModuleType, node: ast.expr) -> str:
    """The state named by `node`: a literal, a constant of the module, or of a module it imports."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return str(getattr(module, node.id))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return str(getattr(getattr(module, node.value.id), node.attr))
    raise AssertionError(f"{module.__name__}: a state that is not a constant: {ast.dump(node)}")


def states_moved_to(module: ModuleType) -> set[str]:
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "go"
        ):
            found.add(_resolve(module, node.args[0]))
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                assert not (isinstance(target, ast.Attribute) and target.attr == "state"), (
                    f"{module.__name__} sets a state by assignment: use turn.go"
                )
    return found


def test_every_state_is_declared_by_exactly_one_flow() -> None:
    router = Router(DEFAULT_FLOWS)  # two flows declaring one state would be refused here
    used = {IDLE}
    for module in flow_modules():
        moved_to = states_moved_to(module)
        assert moved_to <= set(router.state_owners), module.__name__
        used |= moved_to
        flow: Flow | None = getattr(module, "FLOW", None)
        assert flow is not None and flow in DEFAULT_FLOWS, f"{module.__name__} not registered"
        assert moved_to <= set(flow.states), f"{module.__name__} moves to another flow's state"
        # the state list at the top of the module is the one its declaration uses
        assert tuple(flow.states) == getattr(module, "STATES", ()), module.__name__
    assert used == set(router.state_owners)  # and none is declared but never entered
    for prefix, button in router.buttons.items():
        assert set(button.states) <= set(router.state_owners), prefix
    # the resolve note and a problem's answers are typed in the operators' group too
    assert router.group_text_states == {"resolve_note", "resolve_cause"} | set(problems.STATES)
