"""Unit types by id, from every plugin's ``caselab_unit_types`` hook (the built-ins included)."""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from .. import plugins
from .spec import UnitType


class RegistryError(RuntimeError):
    pass


def build_registry(classes: Iterable[object]) -> dict[str, UnitType]:
    registry: dict[str, UnitType] = {}
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, UnitType)):
            raise RegistryError(f"{cls!r} is not a UnitType subclass")
        if not getattr(cls, "type_id", "") or not cls.type_id.replace("_", "").isalnum():
            raise RegistryError(f"{cls.__name__}: type_id must be letters, digits and '_'")
        if cls.type_id in registry:
            raise RegistryError(f"two unit types claim the id '{cls.type_id}'")
        registry[cls.type_id] = cls()
    return registry


@lru_cache(maxsize=1)
def units() -> dict[str, UnitType]:
    return build_registry(plugins.collect("caselab_unit_types"))


def reset() -> None:
    plugins.reset()
    units.cache_clear()


def unit(type_id: str) -> UnitType:
    try:
        return units()[type_id]
    except KeyError:
        raise RegistryError(f"unknown unit type '{type_id}'") from None


def units_for(scenario) -> list[UnitType]:
    return [u for u in units().values() if u.applies_to(scenario)]
