"""The selection rule of site outage reporting."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outages_processor.core.filtering import DEFAULT_SINCE, select_site_outages
from outages_processor.models import Device, EnhancedOutage, Outage, SiteInfo

from .conftest import bundled_json

SITE = SiteInfo("s", "Site", (Device("a", "Battery A"), Device("b", "Battery B")))


def outage(device: str, begin: str, end: str = "2023-01-01T00:00:00.000Z") -> Outage:
    """Build an outage of ``device``."""
    return Outage(device, begin, end)


@pytest.mark.parametrize(
    ("begin", "kept"),
    [
        ("2022-01-01T00:00:00.000Z", True),
        ("2021-12-31T23:59:59.999Z", False),
        ("2022-01-01T00:00:00.001Z", True),
        ("2022-01-01T01:00:00.000+01:00", True),
        ("2022-01-01T00:59:59.999+01:00", False),
        ("2021-12-31T19:00:00-05:00", True),
    ],
)
def test_cut_off_is_inclusive_and_compared_as_instants(begin: str, kept: bool) -> None:
    """An outage is kept exactly when its begin instant is at or after the cut-off."""
    selected = select_site_outages([outage("a", begin)], SITE)
    assert bool(selected) is kept


def test_outage_that_began_before_and_ends_after_the_cut_off_is_dropped() -> None:
    """Only ``begin`` decides: an outage spanning the cut-off is not reported."""
    spanning = outage("a", "2021-12-01T00:00:00.000Z", "2022-03-01T00:00:00.000Z")
    assert not select_site_outages([spanning], SITE)


def test_every_outage_of_a_device_is_kept_in_input_order() -> None:
    """A device with several outages reports all of them, in /outages order."""
    outages = [
        outage("b", "2022-05-01T00:00:00.000Z"),
        outage("a", "2022-03-01T00:00:00.000Z"),
        outage("b", "2022-02-01T00:00:00.000Z"),
    ]
    assert [(o.id, o.begin) for o in select_site_outages(outages, SITE)] == [
        ("b", "2022-05-01T00:00:00.000Z"),
        ("a", "2022-03-01T00:00:00.000Z"),
        ("b", "2022-02-01T00:00:00.000Z"),
    ]


def test_unknown_devices_are_dropped() -> None:
    """Outages of devices that are not the site's are not reported."""
    assert not select_site_outages([outage("zzz", "2022-05-01T00:00:00.000Z")], SITE)


def test_strings_are_echoed_exactly_and_names_attached() -> None:
    """``begin``/``end`` keep their original text; the device name is attached."""
    original = outage("a", "2022-05-01T00:00:00.5+00:00", "2022-05-02T00:00:00Z")
    assert select_site_outages([original], SITE) == [
        EnhancedOutage("a", "Battery A", "2022-05-01T00:00:00.5+00:00", "2022-05-02T00:00:00Z")
    ]


@pytest.mark.parametrize(
    ("outages", "site"),
    [([], SITE), ([outage("a", "2022-05-01T00:00:00Z")], SiteInfo("s", "S", ())), ([], {})],
)
def test_empty_inputs_select_nothing(outages: list[Outage], site: SiteInfo) -> None:
    """No outages, or a site without devices, selects nothing."""
    assert not select_site_outages(outages, site)


def test_a_mapping_of_device_names_works_like_a_site() -> None:
    """The site may be given as a plain id -> name mapping."""
    selected = select_site_outages([outage("a", "2022-05-01T00:00:00Z")], {"a": "A"})
    assert [o.name for o in selected] == ["A"]


def test_naive_cut_off_is_refused() -> None:
    """A naive ``since`` cannot be compared with aware instants, so it is an error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        select_site_outages([], SITE, since=datetime(2022, 1, 1))


def test_recorded_norwich_pear_tree_selects_the_ten_expected_outages() -> None:
    """On the recorded live data, norwich-pear-tree reports ten outages, traps handled."""
    outages = [Outage.from_json(item) for item in bundled_json("outages.json")]
    site = SiteInfo.from_json(bundled_json("site-info_norwich-pear-tree.json"))
    selected = select_site_outages(outages, site)
    assert len(selected) == 10
    begins = {o.begin for o in selected}
    assert "2022-01-01T00:00:00.000Z" in begins
    assert "2021-12-31T23:59:59.999Z" not in begins
    assert all(o.name.startswith("Battery ") for o in selected)


_instants = st.datetimes(
    min_value=datetime(2021, 6, 1), max_value=datetime(2022, 6, 1), timezones=st.just(timezone.utc)
)


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _instants), max_size=30),
    _instants,
)
def test_selection_is_the_order_preserving_subsequence_of_matches(
    rows: list[tuple[str, datetime]], since: datetime
) -> None:
    """Property: the result is exactly the matching outages, in order, nothing else."""
    outages = [outage(d, b.isoformat()) for d, b in rows]
    selected = select_site_outages(outages, SITE, since=since)
    expected = [o for o in outages if o.id in ("a", "b") and o.begin_at >= since]
    assert [(s.id, s.begin) for s in selected] == [(o.id, o.begin) for o in expected]
    assert all(datetime.fromisoformat(s.begin) >= since for s in selected)


def test_default_cut_off_is_start_of_2022_utc() -> None:
    """The default cut-off is 2022-01-01T00:00:00Z."""
    assert DEFAULT_SINCE == datetime(2022, 1, 1, tzinfo=timezone.utc)
