"""The administrative map after the 2025 reorganisation: provinces and communes found as people type them."""
from __future__ import annotations

from datetime import date

import pytest

from lms_plugin.core import places


def test_the_catalogue_has_the_34_provinces_and_their_3321_communes():
    provinces = places.provinces()
    assert len(provinces) == 34 and len({p.code for p in provinces}) == 34
    assert provinces[0].name == "Thành phố Hà Nội"
    communes = [c for p in provinces for c in places.communes_of(p)]
    assert len(communes) > 3000 and len(communes) == len({c.code for c in communes})
    assert {c.kind for c in communes} == {"xã", "phường", "đặc khu"}
    assert all(c.name.startswith(("Xã ", "Phường ", "Đặc khu ")) for c in communes)
    assert all(p.name.startswith(("Tỉnh ", "Thành phố ")) for p in provinces)


def test_the_source_and_its_date_are_known():
    source = places.source()
    assert source.package == "vietnam-provinces" and source.version == "2025.10.1"
    assert source.data_date == date(2025, 10, 18)


@pytest.mark.parametrize("typed", ["phuong hoan kiem", "Phường Hoàn Kiếm", "hoàn kiếm", "PHƯỜNG  HOÀN KIẾM",
                                   "Phuong Hoan Kiem", "Xã Hoàn Kiếm"])
def test_a_ward_is_found_with_or_without_marks_case_and_kind(typed):
    found = places.find_commune(typed)
    assert found is not None
    assert (found.name, found.short, found.kind, found.province) == (
        "Phường Hoàn Kiếm", "Hoàn Kiếm", "phường", "Thành phố Hà Nội")


@pytest.mark.parametrize("typed, name", [
    ("ha noi", "Thành phố Hà Nội"), ("TP. Hà Nội", "Thành phố Hà Nội"),
    ("Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
    ("tp hcm", "Thành phố Hồ Chí Minh"), ("Gia Lai", "Tỉnh Gia Lai"), ("tinh dak lak", "Tỉnh Đắk Lắk"),
    ("Hue", "Thành phố Huế"), ("Khánh Hoà", "Tỉnh Khánh Hòa"),          # the old placing of the tone mark
])
def test_a_province_is_found_as_it_is_typed(typed, name):
    assert places.find_province(typed).name == name


def test_names_that_are_not_on_the_map_are_not_found():
    assert places.find_province("Tỉnh Đông Hải") is None and places.find_province("") is None
    assert places.find_commune("Xã Không Có") is None and places.find_commune(None) is None
    assert places.communes_of("Tỉnh Đông Hải") == ()


def test_a_commune_name_shared_by_several_provinces_needs_the_province():
    shared = places.communes_named("tan hoa")
    assert len({c.province_code for c in shared}) >= 2
    assert places.find_commune("Tân Hòa") is None                      # ambiguous
    in_phu_tho = places.find_commune("tan hoa", "phú thọ")
    assert (in_phu_tho.name, in_phu_tho.province) == ("Phường Tân Hòa", "Tỉnh Phú Thọ")
    assert places.find_commune("Tân Hòa", places.find_province("Phú Thọ")) == in_phu_tho
    assert places.find_commune("Tân Hòa", in_phu_tho.province_code) == in_phu_tho
    assert places.find_commune("Tân Hòa", "Tỉnh Đông Hải") is None


def test_the_communes_of_a_province_are_its_own():
    hanoi = places.find_province("Hà Nội")
    communes = places.communes_of(hanoi)
    assert communes == places.communes_of("ha noi") == places.communes_of(hanoi.code)
    assert any(c.name == "Phường Hoàn Kiếm" for c in communes)
    assert all(c.province_code == hanoi.code for c in communes)
    assert places.find_commune("Phú Quốc").kind == "đặc khu"
