"""The text keys the code can hand to `bot.i18n.t`, found by reading the code (AST).

There is no list of call sites: the scan starts at the `key` parameter of `bot.i18n.t`
and follows every value that can flow into it, through

* wrappers, found on the way: a function that passes its own parameter on as a key
  (`Turn.t`, `Turn.choice`, a channel's `_tell`, the `__init__` of an exception that
  stores `self.key`) is followed to each of its call sites, `functools.partial` included;
* names: assignments, tuple unpacking (also of a called function's result), `for` loops
  and comprehensions over literal tuples and dicts (`.items()` too), module constants and
  names imported from other scanned modules;
* expressions: `a if c else b`, `x or y`, `"a." + b`, f-strings, `d[k]`, `d.get(k, default)`,
  `tup[0]`, `await`, and `exc.key` in `except SomeError as exc`.

What the code cannot tell (`ticket.state`, `alert.kind`) stays a hole, `{}`: "state.{}" is
a pattern, which the test expands with the values the defining module exports. Keys with
an empty run-time part ("maintenance.announce.") are dropped: the code has an empty part
only where it says nothing. A lambda's parameter gives nothing: its callers are not Python
(the status page hands its `t` to the templates, which the test reads on their own).
"""

from tests.text_keys.model import HOLE, Use
from tests.text_keys.scanner import Scanner

__all__ = ["HOLE", "Scanner", "Use"]
