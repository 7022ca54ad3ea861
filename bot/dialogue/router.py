"""What a chat turn means: tables built from the flows' declarations.

Each flow declares its commands, its button prefixes and its states; the router joins
them into look-up tables once, refusing a command, prefix or state that two flows claim,
so that adding a flow is a new module and a line in the registry, never an edit here.
A turn is then a handful of look-ups in a fixed order: button, command, typed choice,
the group-chat rule, the state's text handler, the text patterns, the idle fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeAlias, TypeVar

from rapidfuzz import fuzz, utils

from bot.dialogue.messages import Choice, Reply
from bot.dialogue.turn import IDLE, Turn

#: (turn, the rest of the line after "/name", stripped)
CommandHandler: TypeAlias = Callable[[Turn, str], list[Reply]]
#: (turn, the action after its prefix and ":"); None when the button does not apply
#: (unknown id, wrong ticket): the user is told the choice is no longer valid.
ButtonHandler: TypeAlias = Callable[[Turn, str], list[Reply] | None]
#: (turn, the typed text)
TextHandler: TypeAlias = Callable[[Turn, str], list[Reply]]
#: the names one command answers to, e.g. ("lapor", "report")
Aliases: TypeAlias = tuple[str, ...]


class Text(Enum):
    """What free text means in a state that has no text handler of its own."""

    #: the state waits for a button: say so and show the last choices again
    USE_BUTTONS = "use_buttons"
    #: a new message, read as in the idle state (patterns, then the fallback); the state
    #: only matters to its buttons
    AS_IDLE = "as_idle"


@dataclass(frozen=True)
class Button:
    """A button prefix's handler and the conditions it needs, checked before it runs, so
    a stale or forged button is refused the same way whatever flow it names."""

    run: ButtonHandler
    #: only while the chat is in one of these states (empty: in any state)
    states: tuple[str, ...] = ()
    #: only if the action was among the choices shown last (a forged id is refused)
    offered: bool = False
    #: the action is the prefix alone: "rep:send", not "rep:send:x"
    exact: bool = False
    #: checked first, before the state: raises a refusal (who may press it at all)
    guard: Callable[[Turn], None] | None = None


@dataclass(frozen=True)
class Flow:
    """One flow's declaration: everything the router needs to send a turn to it."""

    name: str
    commands: Mapping[Aliases, CommandHandler] = field(default_factory=dict)
    #: action prefix ("svc", "faq:pick", "menu:report") → button; the longest prefix of an
    #: action, cut at ":", wins
    buttons: Mapping[str, Button] = field(default_factory=dict)
    #: every state this flow moves a chat to → what free text means there
    states: Mapping[str, TextHandler | Text] = field(default_factory=dict)
    #: this flow's states in which a group chat's free text answers the bot
    group_text: tuple[str, ...] = ()
    #: free text matching one of these (in an idle-like state) goes to its handler
    patterns: tuple[tuple[re.Pattern[str], TextHandler], ...] = ()
    #: free text in an idle-like state that nothing else claims; exactly one flow has it
    fallback: TextHandler | None = None
    #: this flow's states that any command leaves: the chat is back in idle before the
    #: command runs (a prompt that is optional, like a comment after a rating)
    left_by_commands: tuple[str, ...] = ()


class RouteConflict(ValueError):
    """Two flows claim the same command, button prefix, state or fallback, or a flow
    names a state nobody declares: refused when the router is built, not mid-chat."""


T = TypeVar("T")
#: key → (the flow that claims it, what it claims)
_Table: TypeAlias = dict[str, tuple[str, T]]
#: idle is no flow's: a chat there reads each message afresh
_IDLE_FLOW = Flow(name="(router)", states={IDLE: Text.AS_IDLE})
_BAD_COMMAND_NAME = re.compile(r"[\s@/]")


def _collect(
    flows: Iterable[Flow], what: str, entries: Callable[[Flow], Iterable[tuple[str, T]]]
) -> _Table[T]:
    table: _Table[T] = {}
    for flow in flows:
        for key, value in entries(flow):
            if key in table:
                named = f"{what} {key!r}" if key else what
                raise RouteConflict(f"{named} claimed by flow {table[key][0]!r} and {flow.name!r}")
            table[key] = (flow.name, value)
    return table


def _check(flows: Iterable[Flow], states: Mapping[str, object]) -> None:
    """Mistakes in a declaration that would otherwise only show in a chat."""
    for flow in flows:
        for alias in (a for aliases in flow.commands for a in aliases):
            if not alias or alias != alias.lower() or _BAD_COMMAND_NAME.search(alias):
                raise RouteConflict(f"flow {flow.name!r}: bad command name {alias!r}")
        for state in flow.group_text:
            if state not in flow.states:
                raise RouteConflict(f"flow {flow.name!r}: group text state {state!r} not its own")
        for state in flow.left_by_commands:
            if state not in flow.states:
                raise RouteConflict(
                    f"flow {flow.name!r}: state {state!r} left by commands not its own"
                )
        for prefix, button in flow.buttons.items():
            for state in button.states:
                if state not in states:
                    raise RouteConflict(f"button {prefix!r} of {flow.name!r}: no state {state!r}")


class Router:
    def __init__(self, flows: Iterable[Flow]) -> None:
        self.flows: tuple[Flow, ...] = tuple(flows)
        commands = _collect(
            self.flows,
            "command",
            lambda f: ((a, (names[0], run)) for names, run in f.commands.items() for a in names),
        )
        buttons = _collect(self.flows, "button prefix", lambda f: f.buttons.items())
        states = _collect((_IDLE_FLOW, *self.flows), "state", lambda f: f.states.items())
        fallback = _collect(
            self.flows, "the idle fallback", lambda f: [("", f.fallback)] if f.fallback else []
        )
        _check(self.flows, states)
        if not fallback:
            raise RouteConflict("no flow declares the idle fallback")
        self._commands = {k: v for k, (_, v) in commands.items()}
        self._buttons = {k: v for k, (_, v) in buttons.items()}
        self._states = {k: v for k, (_, v) in states.items()}
        #: state → the flow that declares it ("(router)" for idle)
        self.state_owners: dict[str, str] = {k: owner for k, (owner, _) in states.items()}
        self.group_text_states: frozenset[str] = frozenset(
            s for flow in self.flows for s in flow.group_text
        )
        self._patterns = [p for flow in self.flows for p in flow.patterns]
        self._fallback = fallback[""][1]
        self._left_by_commands = frozenset(s for flow in self.flows for s in flow.left_by_commands)

    @property
    def aliases(self) -> dict[str, str]:
        """Every command name → the first name of its command."""
        return {alias: first for alias, (first, _) in self._commands.items()}

    @property
    def buttons(self) -> Mapping[str, Button]:
        return self._buttons

    # -- dispatch -------------------------------------------------------------------

    def dispatch(self, turn: Turn, text: str, action: str | None) -> list[Reply]:
        if action:
            return self.press(turn, action)
        if text.startswith("/"):
            return self.command(turn, text)
        typed = typed_choice(turn.data.get("choices") or [], text)
        if typed:
            return self.press(turn, typed)
        if turn.msg.group and turn.state not in self.group_text_states:
            return turn.replies
        return self.free_text(turn, text)

    def command(self, turn: Turn, text: str) -> list[Reply]:
        head, _, rest = text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        if turn.state in self._left_by_commands:
            turn.reset()
        found = self._commands.get(name)
        if found is None:
            return turn.say(
                turn.t("command.unknown", command=f"/{name}"[:40]),
                [turn.choice("menu.help", "menu:help")],
            )
        return found[1](turn, rest.strip())

    def press(self, turn: Turn, action: str) -> list[Reply]:
        found = self._button(action)
        if found is not None:
            button, value = found
            if button.guard is not None:
                button.guard(turn)
            if self._applies(turn, button, action, value):
                replies = button.run(turn, value)
                if replies is not None:
                    return replies
        return turn.say(turn.t("input.stale_choice"), [turn.choice("menu.start", "menu:start")])

    def _button(self, action: str) -> tuple[Button, str] | None:
        """The longest declared prefix of `action`, cut at ":", and what follows it."""
        prefix = action
        while prefix not in self._buttons:
            if ":" not in prefix:
                return None
            prefix = prefix.rpartition(":")[0]
        return self._buttons[prefix], action[len(prefix) + 1 :]

    @staticmethod
    def _applies(turn: Turn, button: Button, action: str, value: str) -> bool:
        offered = [a for _, a in turn.data.get("choices") or []]
        return (
            not (button.exact and value)
            and (not button.states or turn.state in button.states)
            and (not button.offered or action in offered)
        )

    def free_text(self, turn: Turn, text: str) -> list[Reply]:
        handler = self._states.get(turn.state, Text.AS_IDLE)
        if handler is Text.USE_BUTTONS:
            last = [Choice(label, act) for label, act in turn.data.get("choices") or []]
            return turn.say(turn.t("input.use_choices"), last)
        if handler is not Text.AS_IDLE:
            assert not isinstance(handler, Text)
            return handler(turn, text)
        for pattern, on_match in self._patterns:
            if pattern.match(text):
                return on_match(turn, text)
        return self._fallback(turn, text)


def split_first(args: str) -> tuple[str, str]:
    """A command's first argument (a ticket number, a code) and the text after it."""
    first, _, tail = args.partition(" ")
    return first, tail


def typed_choice(choices: list[list[str]], text: str) -> str | None:
    """Channels without buttons answer with the number or the label of a choice."""
    if not choices:
        return None
    if text.isascii() and text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1][1]
    wanted = utils.default_process(text)
    if not wanted:
        return None
    for label, action in choices:
        if utils.default_process(label) == wanted:
            return action
    best = max(choices, key=lambda c: fuzz.ratio(wanted, utils.default_process(c[0])))
    if len(wanted) >= 3 and fuzz.ratio(wanted, utils.default_process(best[0])) >= 88:
        return best[1]
    return None
