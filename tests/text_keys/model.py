"""The parsed files the scan reads, what it finds (`Use`) and small questions about
AST nodes."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

HOLE = "{}"
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@dataclass(frozen=True)
class Use:
    """A key (or a pattern with holes) the code can pass to t(), and where it is written."""

    key: str
    path: str
    line: int


class Module:
    """One parsed file, with what the scan asks of it often: parents, defs, imports."""

    def __init__(self, name: str, path: str, tree: ast.Module, scanned: set[str]) -> None:
        self.name, self.path, self.tree = name, path, tree
        self.parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        self.defs = {n.name: n for n in tree.body if isinstance(n, FUNCS)}
        #: local name -> (module, name) of `from module import name [as local]`, anywhere
        self.imported: dict[str, tuple[str, str]] = {}
        #: local names that stand for modules (`import secrets`, `from bot import i18n`)
        self.module_names: dict[str, str] = {}
        for stmt in ast.walk(tree):
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.module_names[local] = alias.name if alias.asname else local
            elif isinstance(stmt, ast.ImportFrom) and stmt.module:
                for alias in stmt.names:
                    local = alias.asname or alias.name
                    if f"{stmt.module}.{alias.name}" in scanned:
                        self.module_names[local] = f"{stmt.module}.{alias.name}"
                    else:
                        self.imported[local] = (stmt.module, alias.name)

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))


Node = tuple[ast.AST, Module]
Site = tuple[ast.Call, Module, int]  # a call, its module, how many leading params it skips


def name_of(expr: ast.AST) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    return expr.attr if isinstance(expr, ast.Attribute) else None


def method_of(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def params_of(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    a = func.args
    return {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}


def binds(target: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target))


def own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a body and of its blocks (if, for, with, try), not of nested defs."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (*FUNCS, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from own_statements([s for s in inner if isinstance(s, ast.stmt)])
        for handler in getattr(stmt, "handlers", []):
            yield from own_statements(handler.body)


def scope_of(node: ast.AST, mod: Module) -> ast.AST | None:
    parent = mod.parent(node)
    while parent is not None and not isinstance(parent, SCOPES):
        parent = mod.parent(parent)
    return parent


def empty_part(key: str) -> bool:
    return key.startswith(".") or key.endswith(".") or ".." in key
