from importlib.metadata import entry_points

import pytest

from lms_plugin.units import registry
from lms_plugin.units.spec import UnitType

BUILT_INS = {"case", "discussion", "essay", "panel"}


def test_built_ins_load_through_the_same_entry_points_as_any_package():
    assert set(registry.units()) == BUILT_INS
    assert all(isinstance(u, UnitType) for u in registry.units().values())
    # each one comes from a module named under the "caselab" entry points of CaseLab's own distribution
    declared = {ep.value for ep in entry_points(group="caselab") if ep.dist and ep.dist.name == "caselab"}
    assert {type(u).__module__ for u in registry.units().values()} <= declared


def test_every_shipped_scenario_offers_the_three_built_ins(shipped_catalog):
    for loaded in shipped_catalog.scenarios:
        assert [u.type_id for u in registry.units_for(loaded.scenario)][:3] == ["case", "discussion", "essay"]


def test_public_views_never_leak_points_or_feedback(shipped_catalog):
    scenario = shipped_catalog.scenarios[0].scenario
    view = registry.unit("case").public_view(scenario)
    assert view["title"] == scenario.title and view["start"]["id"] == scenario.start.id
    flat = repr(view)
    assert "feedback" not in flat and "points" not in flat
    assert registry.unit("essay").max_score(scenario) == 10
    assert registry.unit("case").max_score(scenario) == scenario.max_points()


def test_the_registry_refuses_clashes_and_strangers():
    class Twin(UnitType):
        type_id = "case"
        title = "x"
    with pytest.raises(registry.RegistryError, match="two unit types claim the id 'case'"):
        registry.build_registry([registry.units()["case"].__class__, Twin])
    with pytest.raises(registry.RegistryError, match="not a UnitType"):
        registry.build_registry([object])
    with pytest.raises(registry.RegistryError, match="unknown unit type"):
        registry.unit("poll")
