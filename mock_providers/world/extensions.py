"""State a mock keeps beside a World (sign-in flows, token registries, sync bookkeeping).

Keyed weakly by the World object, so a reset, which swaps in a new World, drops it with the old
one and no provider needs a reset hook.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

from mock_providers.world.world import World

T = TypeVar("T")


def per_world(factory: Callable[[], T]) -> Callable[[World], T]:
    """An accessor returning the one `factory()` value that belongs to a World."""
    states: weakref.WeakKeyDictionary[World, T] = weakref.WeakKeyDictionary()

    def state_of(world: World) -> T:
        state = states.get(world)
        if state is None:
            state = states[world] = factory()
        return state

    return state_of
