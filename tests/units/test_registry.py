import pytest

from lms_plugin.units import registry
from lms_plugin.units.spec import UnitType


def test_built_ins_load_through_the_entry_points():
    assert set(registry.units()) == {"case", "discussion", "essay"}
    assert all(isinstance(u, UnitType) for u in registry.units().values())


def test_every_shipped_scenario_offers_all_three_units(shipped_catalog):
    for loaded in shipped_catalog.scenarios:
        assert [u.type_id for u in registry.units_for(loaded.scenario)] == ["case", "discussion", "essay"]


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
        applies_to = max_score = public_view = lambda self, s: None
    with pytest.raises(registry.RegistryError, match="two unit types claim the id 'case'"):
        registry.build_registry([registry.units()["case"].__class__, Twin])
    with pytest.raises(registry.RegistryError, match="not a UnitType"):
        registry.build_registry([object])
    with pytest.raises(registry.RegistryError, match="unknown unit type"):
        registry.unit("poll")
