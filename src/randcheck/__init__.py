"""randcheck: random regulatory inspections (双随机、一公开) that anyone can replay.

Draw the entities to inspect with exact, stated inclusion probabilities, from a
public seed, and publish a record from which anyone can replay the draw::

    import randcheck
    result = randcheck.draw(items, entities, seed="2026-11-26 第1轮")
    randcheck.verify(result.record, entities)
"""

from ._version import __version__
from .draw import DrawResult, ItemDraw, draw, verify
from .errors import (
    DuplicateIdError,
    InfeasibleAssignment,
    InputError,
    LedgerError,
    LoaderError,
    PolicyError,
    RandcheckError,
    SeedError,
    VerificationError,
)
from .hookspecs import hookimpl
from .loaders import load_conflicts, load_entities, load_inspectors, load_items
from .model import Conflict, Entity, Inspector, Item, Task
from .plan import ClassStratified, Plan, PlanError, coverage, draw_year, verify_year
from .policies import Design, Policy, Proportional, RiskWeighted
from .pools import EntityPool, InspectorPool
from .stream import SPEC, Seed
from .teams import TeamAssignment, assign_teams

__all__ = [
    "SPEC",
    "ClassStratified",
    "Conflict",
    "Design",
    "DrawResult",
    "DuplicateIdError",
    "Entity",
    "EntityPool",
    "InfeasibleAssignment",
    "InputError",
    "Inspector",
    "InspectorPool",
    "Item",
    "ItemDraw",
    "LedgerError",
    "LoaderError",
    "Plan",
    "PlanError",
    "Policy",
    "PolicyError",
    "Proportional",
    "RandcheckError",
    "RiskWeighted",
    "Seed",
    "SeedError",
    "Task",
    "TeamAssignment",
    "VerificationError",
    "__version__",
    "assign_teams",
    "coverage",
    "draw",
    "draw_year",
    "hookimpl",
    "load_conflicts",
    "load_entities",
    "load_inspectors",
    "load_items",
    "verify",
    "verify_year",
]
