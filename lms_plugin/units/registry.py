"""Unit types by id, loaded from the ``lms_plugin.units`` entry points (built-ins included)."""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from .spec import UnitType

GROUP = "lms_plugin.units"


class RegistryError(RuntimeError):
    pass


def build_registry(classes) -> dict[str, UnitType]:
    registry: dict[str, UnitType] = {}
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, UnitType)):
            raise RegistryError(f"{cls!r} is not a UnitType subclass")
        if cls.type_id in registry:
            raise RegistryError(f"two unit types claim the id '{cls.type_id}'")
        registry[cls.type_id] = cls()
    return registry


@lru_cache(maxsize=1)
def units() -> dict[str, UnitType]:
    found = entry_points(group=GROUP)
    if not found:
        raise RegistryError(f"no unit types under the '{GROUP}' entry points: is CaseLab installed (pip install -e .)?")
    return build_registry(ep.load() for ep in sorted(found, key=lambda ep: ep.name))


def unit(type_id: str) -> UnitType:
    try:
        return units()[type_id]
    except KeyError:
        raise RegistryError(f"unknown unit type '{type_id}'") from None


def units_for(scenario) -> list[UnitType]:
    return [u for u in units().values() if u.applies_to(scenario)]
