"""The use case: fetch /outages once, then each site's info, filter and post (respx)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import respx

from outages_processor.api import KrakenFlexClient, RetryPolicy
from outages_processor.errors import ConfigError, NotFoundError, ServerError
from outages_processor.settings import Settings
from outages_processor.sites import process_site, process_sites

from .conftest import BASE_URL, FAKE_KEY, bundled_json, bundled_outages

SETTINGS = Settings(api_key=FAKE_KEY, base_url=BASE_URL, tries=1)


def mock_api() -> respx.Router:
    """Answer /outages and both bundled sites; accept every POST."""
    router = respx.mock(base_url=BASE_URL, assert_all_called=False)
    router.get("/outages").respond(200, json=bundled_outages())
    for site in ("norwich-pear-tree", "kingfisher"):
        router.get(f"/site-info/{site}").respond(200, json=bundled_json(f"site-info_{site}.json"))
    router.get("/site-info/nowhere").respond(404, json={"message": "Site not found"})
    router.post(path__startswith="/site-outages/", name="post").respond(200, json={})
    return router


def test_norwich_pear_tree_posts_its_ten_outages() -> None:
    """The main job posts the ten qualifying outages of norwich-pear-tree."""
    with mock_api() as router:
        result = process_site("norwich-pear-tree", settings=SETTINGS)
        body = json.loads(router["post"].calls.last.request.content)
    assert result.posted and result.ok
    assert len(result.outages) == 10
    assert body == [outage.to_json() for outage in result.outages]


def test_outages_are_fetched_once_for_several_sites() -> None:
    """Three sites (one repeated) cost one GET /outages and one POST per distinct site."""
    with mock_api() as router:
        results = process_sites(
            ["norwich-pear-tree", "kingfisher", "norwich-pear-tree"], settings=SETTINGS
        )
        assert router.routes[0].call_count == 1
        assert router["post"].call_count == 2
    assert [r.site_id for r in results] == ["norwich-pear-tree", "kingfisher"]


def test_one_failing_site_does_not_hide_the_others() -> None:
    """An unknown site carries its error; the other site is still posted."""
    with mock_api():
        first, second = process_sites(["nowhere", "norwich-pear-tree"], settings=SETTINGS)
    assert isinstance(first.error, NotFoundError)
    assert not first.posted
    assert second.posted


def test_nothing_to_report_means_no_post() -> None:
    """When no outage qualifies, nothing is posted."""
    late = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with mock_api() as router:
        result = process_site("kingfisher", settings=SETTINGS, since=late)
        assert router["post"].call_count == 0
    assert result.outages == () and not result.posted


def test_dry_run_selects_without_posting() -> None:
    """A dry run returns the selection and posts nothing."""
    with mock_api() as router:
        result = process_site("norwich-pear-tree", settings=SETTINGS, dry_run=True)
        assert router["post"].call_count == 0
    assert len(result.outages) == 10 and not result.posted


def test_failure_of_outages_is_reported_for_every_site() -> None:
    """If GET /outages fails, every site carries that error and nothing else is asked."""
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/outages").respond(503)
        results = process_sites(["a", "b"], settings=SETTINGS)
        assert router.calls.call_count == 1
    assert [type(r.error) for r in results] == [ServerError, ServerError]


def test_process_site_raises_the_error_of_its_site() -> None:
    """The single-site call raises instead of returning an error."""
    with mock_api(), pytest.raises(NotFoundError, match="'nowhere'"):
        process_site("nowhere", settings=SETTINGS)


def test_a_caller_client_is_used_and_not_closed() -> None:
    """A given client is used as is and stays open for the caller."""
    client = KrakenFlexClient(SETTINGS, retry=RetryPolicy(tries=1))
    with mock_api():
        process_site("kingfisher", client=client, dry_run=True)
        process_site("kingfisher", client=client, dry_run=True)
    client.close()


def test_results_convert_to_plain_rows() -> None:
    """Results become plain dicts for JSON or a DataFrame."""
    with mock_api():
        ok, missing = process_sites(["kingfisher", "nowhere"], settings=SETTINGS, dry_run=True)
    assert ok.to_dict()["site_id"] == "kingfisher"
    assert set(ok.to_dict()) == {"site_id", "outages", "posted"}
    assert missing.to_dict()["error"].startswith("GET /site-info/nowhere: the API does not know")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": "2022-13-01"}, "since: '2022-13-01' is not an ISO 8601 string"),
        ({"max_workers": 0}, "max_workers must be at least 1"),
    ],
)
def test_bad_arguments_are_value_errors(kwargs: dict[str, object], message: str) -> None:
    """Cut-offs that are not timestamps and a zero worker count are refused up front."""
    with pytest.raises(ValueError, match=message):
        process_sites(["a"], settings=SETTINGS, **kwargs)  # type: ignore[arg-type]


def test_empty_site_id_is_refused() -> None:
    """A blank site id is refused before any request."""
    with pytest.raises(ValueError, match="must not be empty"):
        process_sites([""], settings=SETTINGS)


def test_no_sites_is_no_work() -> None:
    """An empty list of sites returns no results and sends nothing."""
    assert process_sites([], settings=SETTINGS) == []  # pylint: disable=use-implicit-booleaness-not-comparison


def test_settings_are_loaded_from_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without client or settings, the environment supplies the key."""
    monkeypatch.setenv("KRAKENFLEX_BASE_URL", BASE_URL)
    with pytest.raises(ConfigError):
        process_site("kingfisher")
    monkeypatch.setenv("KRAKENFLEX_API_KEY", FAKE_KEY)
    with mock_api() as router:
        process_site("kingfisher", dry_run=True)
        assert router.routes[0].calls.last.request.headers["x-api-key"] == FAKE_KEY
