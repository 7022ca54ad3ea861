"""The scan: which values can flow into a parameter (see the package's docstring)."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.text_keys.model import (
    COMPS,
    FUNCS,
    HOLE,
    SCOPES,
    Module,
    Node,
    Site,
    Use,
    binds,
    empty_part,
    method_of,
    name_of,
    own_statements,
    params_of,
    scope_of,
)

_MAX_VALUES = 500


class Scanner:
    def __init__(self, repo: Path, roots: Iterable[str]) -> None:
        files = {}
        for root in roots:
            for path in sorted((repo / root).rglob("*.py")):
                rel = path.relative_to(repo)
                files[".".join(rel.with_suffix("").parts).removesuffix(".__init__")] = rel
        self.modules: dict[str, Module] = {}
        for name, rel in files.items():
            tree = ast.parse((repo / rel).read_text(encoding="utf-8"), str(rel))
            self.modules[name] = Module(name, str(rel), tree, set(files))
        every = [(n, m) for m in self.modules.values() for n in ast.walk(m.tree)]
        self._calls = [(n, m) for n, m in every if isinstance(n, ast.Call)]
        self._classes = [(n, m) for n, m in every if isinstance(n, ast.ClassDef)]
        self._home = {id(n): m for n, m in every if isinstance(n, FUNCS)}
        self._flows: dict[tuple[int, str], set[Use]] = {}
        self._sites: dict[int, list[Site]] = {}
        self._valuing: set[int] = set()
        self._walking: set[int] = set()

    def keys_into(self, module: str, function: str, param: str) -> set[Use]:
        """Every key (or pattern) that can reach parameter `param` of a module function."""
        mod = self.modules[module]
        func = mod.defs.get(function)
        assert func is not None, f"{module}.{function} not found"
        return {u for u in self._param(func, mod, param) if not empty_part(u.key)}

    # -- values ---------------------------------------------------------------------------

    def values(self, expr: ast.AST, mod: Module) -> set[Use]:
        if id(expr) in self._valuing:
            return set()  # a cycle adds nothing new
        self._valuing.add(id(expr))
        try:
            out: set[Use] = set()
            for node, where in list(self._nodes(expr, mod)):
                out |= self._leaf(node, where)
            return out
        finally:
            self._valuing.discard(id(expr))

    def _leaf(self, node: ast.AST, mod: Module) -> set[Use]:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant):
            if node.value is None:
                return set()
            if isinstance(node.value, str | int) and not isinstance(node.value, bool):
                return {Use(str(node.value), mod.path, line)}
        elif isinstance(node, ast.JoinedStr):
            return {Use(k, mod.path, line) for k in self._joined(node.values, mod)}
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return {Use(k, mod.path, line) for k in self._joined([node.left, node.right], mod)}
        elif isinstance(node, ast.Attribute) and (stored := self._exception_attr(node, mod)):
            return stored
        elif isinstance(node, ast.Call) and (returns := self._returns(node, mod)) is not None:
            return {u for value, where in returns for u in self.values(value, where)}
        return {Use(HOLE, mod.path, line)}

    def _joined(self, parts: list[ast.expr], mod: Module) -> set[str]:
        choices: list[set[str]] = []
        for part in parts:
            if isinstance(part, ast.Constant):
                choices.append({str(part.value)})
            else:
                inner = part.value if isinstance(part, ast.FormattedValue) else part
                choices.append({u.key for u in self.values(inner, mod)} or {HOLE})
        size = 1
        for c in choices:
            size *= len(c)
        if size > _MAX_VALUES:
            return {"".join(HOLE if len(c) > 1 else next(iter(c)) for c in choices)}
        return {"".join(c) for c in itertools.product(*choices)}

    def _nodes(self, expr: ast.AST, mod: Module) -> Iterator[Node]:
        """The expressions `expr` can stand for: names followed, items picked."""
        if isinstance(expr, ast.IfExp):
            yield from self._nodes(expr.body, mod)
            yield from self._nodes(expr.orelse, mod)
        elif isinstance(expr, ast.BoolOp):
            for value in expr.values:
                yield from self._nodes(value, mod)
        elif isinstance(expr, ast.Await | ast.NamedExpr):
            yield from self._nodes(expr.value, mod)
        elif isinstance(expr, ast.Name):
            if id(expr) in self._walking:
                return
            self._walking.add(id(expr))
            try:
                for bound, where in list(self._bindings(expr, mod)):
                    yield from [(bound, where)] if bound is expr else self._nodes(bound, where)
            finally:
                self._walking.discard(id(expr))
        elif isinstance(expr, ast.Subscript):
            index = expr.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                picked = self._element(expr.value, mod, index.value)
            else:
                picked = self._items(expr.value, mod, keys=False)
            for item, where in list(picked):
                yield from self._nodes(item, where)
        elif isinstance(expr, ast.Call) and method_of(expr) == "get":
            assert isinstance(expr.func, ast.Attribute)
            for item, where in list(self._items(expr.func.value, mod, keys=False)):
                yield from self._nodes(item, where)
            if len(expr.args) > 1:
                yield from self._nodes(expr.args[1], mod)
        else:
            yield expr, mod

    def _items(self, expr: ast.AST, mod: Module, *, keys: bool) -> Iterator[Node]:
        """The items of a literal container: a dict's keys (iterating) or values (indexing)."""
        for node, where in list(self._nodes(expr, mod)):
            if isinstance(node, ast.Dict):
                yield from ((k, where) for k in (node.keys if keys else node.values) if k)
            elif isinstance(node, ast.Tuple | ast.List | ast.Set):
                yield from ((e, where) for e in node.elts)
            elif isinstance(node, ast.Call) and method_of(node) in ("keys", "values"):
                assert isinstance(node.func, ast.Attribute)
                yield from self._items(node.func.value, where, keys=method_of(node) == "keys")
            elif isinstance(node, ast.Call) and name_of(node.func) in ("sorted", "list", "tuple"):
                yield from self._items(node.args[0], where, keys=keys)
            else:
                yield node, where  # not a literal: a hole

    def _element(self, expr: ast.AST, mod: Module, index: int) -> Iterator[Node]:
        """Item `index` of the tuples `expr` can be (tuple unpacking, `tup[0]`)."""
        for node, where in list(self._nodes(expr, mod)):
            if isinstance(node, ast.Tuple | ast.List) and index < len(node.elts):
                yield from self._nodes(node.elts[index], where)
            elif isinstance(node, ast.Call) and (returns := self._returns(node, where)):
                for value, at in returns:
                    yield from self._element(value, at, index)
            else:
                yield node, where

    # -- names ----------------------------------------------------------------------------

    def _bindings(self, name: ast.Name, mod: Module) -> Iterator[Node]:
        """What a name can be bound to where it is read, innermost scope first; the name
        itself when it is bound nowhere the scan can see."""
        node: ast.AST = name
        while (parent := mod.parent(node)) is not None:
            if isinstance(parent, COMPS):
                for gen in parent.generators:
                    if binds(gen.target, name.id):
                        yield from self._loop(gen.target, gen.iter, name.id, mod)
                        return
            if isinstance(parent, SCOPES):
                if name.id in params_of(parent):
                    yield from self._param_nodes(parent, mod, name.id)
                    return
                if not isinstance(parent, ast.Lambda):
                    found = list(self._assigned(parent.body, name.id, mod))
                    if found:
                        yield from found
                        return
            node = parent
        yield from list(self._assigned(mod.tree.body, name.id, mod, top=True)) or [(name, mod)]

    def _assigned(
        self, body: list[ast.stmt], name: str, mod: Module, *, top: bool = False
    ) -> Iterator[Node]:
        for stmt in own_statements(body):
            if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == name:
                        yield stmt.value, mod
                    elif isinstance(target, ast.Tuple):
                        for i, elt in enumerate(target.elts):
                            if isinstance(elt, ast.Name) and elt.id == name:
                                yield from self._element(stmt.value, mod, i)
            elif isinstance(stmt, ast.For | ast.AsyncFor) and binds(stmt.target, name):
                yield from self._loop(stmt.target, stmt.iter, name, mod)
            elif top and isinstance(stmt, ast.ImportFrom) and stmt.module in self.modules:
                for alias in stmt.names:
                    if (alias.asname or alias.name) == name:
                        other = self.modules[stmt.module]
                        yield from self._assigned(other.tree.body, alias.name, other, top=True)

    def _loop(self, target: ast.AST, iterable: ast.AST, name: str, mod: Module) -> Iterator[Node]:
        """What a loop variable takes: the items, or one element of each (`for a, b in`)."""
        if isinstance(target, ast.Name):
            yield from self._items(iterable, mod, keys=True)
            return
        assert isinstance(target, ast.Tuple | ast.List)
        index = next(i for i, e in enumerate(target.elts) if binds(e, name))
        for node, where in list(self._nodes(iterable, mod)):
            if isinstance(node, ast.Call) and method_of(node) == "items" and index < 2:
                assert isinstance(node.func, ast.Attribute)
                yield from self._items(node.func.value, where, keys=index == 0)
                continue
            for item, at in list(self._items(node, where, keys=True)):
                if isinstance(item, ast.Tuple | ast.List) and index < len(item.elts):
                    yield item.elts[index], at
                else:
                    yield target, mod  # a hole

    # -- parameters and call sites --------------------------------------------------------

    def _param(self, func: ast.AST, mod: Module, param: str) -> set[Use]:
        key = (id(func), param)
        if key not in self._flows:
            self._flows[key] = set()  # a cycle adds nothing new
            uses: set[Use] = set()
            for arg, where in list(self._param_nodes(func, mod, param)):
                uses |= self.values(arg, where)
            self._flows[key] = uses
        return self._flows[key]

    def _param_nodes(self, func: ast.AST, mod: Module, param: str) -> Iterator[Node]:
        """The arguments passed for `param` at every call site of `func`."""
        if not isinstance(func, FUNCS):
            return  # a lambda: see the package's docstring
        args = func.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        defaults = dict(zip(reversed(positional), reversed(args.defaults), strict=False))
        defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
        sites = self._call_sites(func, mod)
        if not sites:
            yield func, mod  # nobody in the scanned code calls it: a hole
        for call, where, skip in sites:
            index = positional.index(param) - skip if param in positional else -1
            keyword = next((k.value for k in call.keywords if k.arg == param), None)
            starred = any(isinstance(a, ast.Starred) for a in call.args[: index + 1])
            if keyword is not None:
                yield keyword, where
            elif 0 <= index < len(call.args) and not starred:
                yield call.args[index], where
            elif param in defaults:
                yield defaults[param], mod

    def _call_sites(self, func: ast.FunctionDef | ast.AsyncFunctionDef, mod: Module) -> list[Site]:
        if id(func) not in self._sites:
            self._sites[id(func)] = list(self._find_call_sites(func, mod))
        return self._sites[id(func)]

    def _find_call_sites(
        self, func: ast.FunctionDef | ast.AsyncFunctionDef, mod: Module
    ) -> Iterator[Site]:
        owner = mod.parent(func)
        if isinstance(owner, ast.ClassDef) and func.name == "__init__":
            classes = self._subclasses(owner.name)
            yield from ((c, m, 1) for c, m in self._calls if name_of(c.func) in classes)
        elif isinstance(owner, ast.ClassDef):  # a method: any obj.name(...) but module.name(...)
            for call, where in self._calls:
                callee = call.func
                if (
                    isinstance(callee, ast.Attribute)
                    and callee.attr == func.name
                    and not self._is_module(callee.value, where)
                ):
                    yield call, where, 1
        else:
            for call, where in self._calls:
                if self._function(call.func, where) is func:
                    yield call, where, 0
                elif (
                    name_of(call.func) == "partial"
                    and call.args
                    and self._function(call.args[0], where) is func
                ):
                    yield call, where, -1  # partial(func, *args): args[0] is func

    def _function(self, expr: ast.AST, mod: Module) -> ast.AST | None:
        """The scanned function a callee expression names, if the scan can tell."""
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            other = self.modules.get(mod.module_names.get(expr.value.id, ""))
            return other.defs.get(expr.attr) if other else None
        if not isinstance(expr, ast.Name):
            return None
        node: ast.AST = expr
        while (parent := mod.parent(node)) is not None:
            if isinstance(parent, FUNCS):
                for stmt in own_statements(parent.body):
                    if isinstance(stmt, FUNCS) and stmt.name == expr.id:
                        return stmt
            node = parent
        if expr.id in mod.defs:
            return mod.defs[expr.id]
        source, name = mod.imported.get(expr.id, ("", ""))
        other = self.modules.get(source)
        return other.defs.get(name) if other else None

    def _is_module(self, expr: ast.AST, mod: Module) -> bool:
        """Is `expr` a module's name (`i18n`, `secrets`) rather than an object's?"""
        return isinstance(expr, ast.Name) and expr.id in mod.module_names

    def _returns(self, call: ast.Call, mod: Module) -> list[Node] | None:
        """What a call to a scanned function returns (`asyncio.to_thread(f)` calls f)."""
        callee: ast.AST = call.func
        if name_of(callee) == "to_thread" and call.args:
            callee = call.args[0]
        func = self._function(callee, mod)
        if not isinstance(func, FUNCS):
            return None
        home = self._home[id(func)]
        return [
            (r.value, home)
            for r in ast.walk(func)
            if isinstance(r, ast.Return) and r.value is not None and scope_of(r, home) is func
        ]

    # -- exceptions that carry a key ------------------------------------------------------

    def _exception_attr(self, node: ast.Attribute, mod: Module) -> set[Use] | None:
        """`exc.key` in `except SomeError as exc`, or of a parameter `exc: SomeError`: what
        SomeError (and its subclasses) store as `self.key`."""
        if not isinstance(node.value, ast.Name):
            return None
        handler = mod.parent(node)
        while handler is not None and not (
            isinstance(handler, ast.ExceptHandler) and handler.name == node.value.id
        ):
            handler = mod.parent(handler)
        if isinstance(handler, ast.ExceptHandler) and handler.type is not None:
            caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        elif (annotation := self._annotation_of(node, mod)) is not None:
            caught = [annotation]
        else:
            return None
        uses: set[Use] = set()
        for cls, where in self._class_and_bases({n for n in map(name_of, caught) if n}):
            for stmt in ast.walk(cls):
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Attribute)
                    and name_of(t.value) == "self"
                    and t.attr == node.attr
                    for t in stmt.targets
                ):
                    uses |= self.values(stmt.value, where)
        return uses

    @staticmethod
    def _annotation_of(node: ast.Attribute, mod: Module) -> ast.expr | None:
        """The annotation of the enclosing function's parameter that `node.value` names."""
        assert isinstance(node.value, ast.Name)
        func = mod.parent(node)
        while func is not None and not isinstance(func, FUNCS):
            func = mod.parent(func)
        if func is None:
            return None
        params = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
        return next((a.annotation for a in params if a.arg == node.value.id), None)

    def _class_and_bases(self, names: set[str]) -> Iterator[tuple[ast.ClassDef, Module]]:
        seen: set[str] = set()
        todo = list(names)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                for cls, where in self._classes:
                    if cls.name == current:
                        yield cls, where
                        todo += [b for b in map(name_of, cls.bases) if b]

    def _subclasses(self, name: str) -> set[str]:
        """A class and, by name, every subclass that inherits its __init__."""
        names, grew = {name}, True
        while grew:
            grew = False
            for cls, _ in self._classes:
                own_init = any(isinstance(s, FUNCS) and s.name == "__init__" for s in cls.body)
                if (
                    cls.name not in names
                    and not own_init
                    and {name_of(b) for b in cls.bases} & names
                ):
                    names.add(cls.name)
                    grew = True
        return names
