"""Settings-derived policies the core reads from a session: one per database engine, so
tests and replicas with different settings in one process do not share them."""

from __future__ import annotations

import weakref
from typing import Generic, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

T = TypeVar("T")


class PerEngine(Generic[T]):
    def __init__(self, default: T) -> None:
        self.default = default
        self._installed: weakref.WeakKeyDictionary[Engine, T] = weakref.WeakKeyDictionary()

    def install(self, engine: Engine, value: T) -> None:
        """Make `value` the one every session on `engine` uses (runtime.build does this)."""
        self._installed[engine] = value

    def of(self, session: Session) -> T:
        bind = session.get_bind()
        engine = getattr(bind, "engine", bind)
        return self._installed.get(engine, self.default)  # type: ignore[arg-type]
