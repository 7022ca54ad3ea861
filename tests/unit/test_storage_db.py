"""storage.db helpers that the domain code relies on for its types."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from storage.db import saved_id, session_scope
from storage.models import Person


def test_saved_id_is_the_key_once_the_row_is_flushed(engine: Engine) -> None:
    with session_scope(engine) as s:
        person = Person(name="Dewi")
        s.add(person)
        with pytest.raises(ValueError, match="flush"):
            saved_id(person)
        s.flush()
        assert person.id is not None and saved_id(person) == person.id
