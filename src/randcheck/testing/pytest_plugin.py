"""pytest fixtures for code that uses randcheck.

The plugin is registered under the ``pytest11`` entry point when randcheck is
installed; without that, a test suite enables it in its top-level
``conftest.py``::

    pytest_plugins = ["randcheck.testing.pytest_plugin"]

Fixtures
--------
``randcheck_plugins``
    An isolated plugin manager (:meth:`randcheck.plugins.Plugins.isolated`):
    the built-in plugins only, never the station plugins installed in the
    environment. It is also made the process-wide manager for the duration of
    the test, so loaders and draws that look plugins up use it; register a
    test's own plugin with ``randcheck_plugins.register(module)``.
``sample_county``
    The embedded sample county (刚察县) as a :class:`SampleCounty`: its item
    list, entity pool, inspector pool and recusals, loaded once per session
    with the built-in loaders (session scope: safe with hypothesis's ``@given``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import attrs
import pytest

from ..cli import DEMO_DATE, DEMO_SEED, sample_path
from ..model import Conflict, Item
from ..plugins import Plugins, set_plugins
from ..pools import EntityPool, InspectorPool

_DEMO_DAY = dt.date.fromisoformat(DEMO_DATE)

__all__ = ["SampleCounty", "load_sample_county", "randcheck_plugins", "sample_county"]


@attrs.frozen(repr=False)
class SampleCounty:
    """The registers of the embedded sample county (刚察县), ready to draw from.

    ``seed`` and ``on`` are the seed and date ``randcheck demo`` uses.
    """

    items: tuple[Item, ...]
    entities: EntityPool
    inspectors: InspectorPool
    conflicts: tuple[Conflict, ...]
    seed: str = DEMO_SEED
    on: dt.date = _DEMO_DAY

    def __repr__(self) -> str:
        return (
            f"<SampleCounty {len(self.items)} items, {len(self.entities):,} entities, "
            f"{len(self.inspectors)} inspectors, {len(self.conflicts)} recusals>"
        )


def load_sample_county(plugins: Plugins | None = None) -> SampleCounty:
    """Load the embedded sample county with the built-in loaders.

    Parameters
    ----------
    plugins
        The plugin manager to load with (default: an isolated one with the
        built-ins only, so installed station plugins cannot change the data).

    Returns
    -------
    SampleCounty
    """
    from ..loaders import load_conflicts, load_entities, load_inspectors, load_items

    used = plugins if plugins is not None else Plugins.isolated()
    return SampleCounty(
        items=load_items(sample_path("items.csv"), plugins=used),
        entities=load_entities(sample_path("entities.csv"), plugins=used),
        inspectors=load_inspectors(sample_path("inspectors.csv"), plugins=used),
        conflicts=load_conflicts(sample_path("conflicts.csv"), plugins=used),
    )


@pytest.fixture
def randcheck_plugins() -> Iterator[Plugins]:
    """An isolated plugin manager, also the process-wide one during the test."""
    plugins = Plugins.isolated()
    previous = set_plugins(plugins)
    try:
        yield plugins
    finally:
        set_plugins(previous)


@pytest.fixture(scope="session")
def sample_county() -> SampleCounty:
    """The embedded sample county (刚察县): items, entities, inspectors, recusals.

    Session-scoped (the registers are immutable), so it also serves tests
    decorated with hypothesis's ``@given``.
    """
    return load_sample_county()
