"""Request bodies sent with a ``Content-Encoding`` (RFC 9110, section 8.4).

A body may be compressed by its sender: ``gzip`` (``x-gzip``), ``deflate`` (the zlib format)
or a list of them, in the order they were applied. The service undoes them before it reads
the body, holding the decoded body to the same size limit as a plain one (a small body that
inflates past it is a 413, found while inflating); a coding it does not know is a 415 that
says which ones it takes (and an ``Accept-Encoding`` header); a body that is not what its
coding says is a 400. Nothing of a refused request is stored.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.service.bodies import BodyDecoder, BodyError
from outages_processor.tests.service_server import Running, settings_in, thread_server

RECORDS = [
    {"controller_id": "c1", "outage_type": "led", "timestamp": "2024-01-01T00:00:00Z"},
    {"controller_id": "c1", "outage_type": "led", "timestamp": "2024-01-01T00:10:00Z"},
    {"controller_id": "c2", "outage_type": "comms", "timestamp": "2024-01-01T00:00:00Z"},
]
RECORDS_BODY = json.dumps(RECORDS).encode()
STATUS_BODY = (
    b"store_id,status,timestamp_utc\n"
    b"1,active,2023-01-25 10:00:00 UTC\n2,inactive,2023-01-25 10:05:00 UTC\n"
)
LIMIT = 4096
"""The servers' body limit here (bytes)."""


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def _encode(data: bytes, codings: Sequence[str]) -> bytes:
    """``data`` with each coding applied in turn, as the header lists them."""
    for coding in codings:
        name = coding.strip().lower()
        if name in ("gzip", "x-gzip"):
            data = gzip.compress(data)
        elif name == "deflate":
            data = _deflate(data)
    return data


def _decode(codings: Sequence[str], chunks: Sequence[bytes], limit: int = 1 << 20) -> bytes:
    decoder = BodyDecoder(codings, limit)
    decoded = b"".join([decoder.feed(chunk) for chunk in chunks])
    decoder.finish()
    return decoded


def _chunked(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[start:stop] for start, stop in zip([0, *points], [*points, len(data)])]


CODINGS = st.lists(st.sampled_from(["gzip", "x-gzip", "deflate", "identity", "GZIP"]), max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), CODINGS, st.lists(st.integers(0, 4000), max_size=8))
def test_any_chain_of_codings_decodes_to_the_body_however_it_arrives(
    data: bytes, codings: list[str], cuts: list[int]
) -> None:
    """Every chain of known codings, the encoded bytes cut into chunks anywhere."""
    encoded = _encode(data, codings)
    assert _decode([", ".join(codings)] if codings else [], _chunked(encoded, cuts)) == data


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=500), min_size=1, max_size=4), st.integers(1, 64))
def test_a_gzip_body_of_several_members_is_their_concatenation(
    parts: list[bytes], chunk: int
) -> None:
    """RFC 1952: a gzip file may hold several members, one after the other."""
    encoded = b"".join(gzip.compress(part) for part in parts)
    chunks = [encoded[at : at + chunk] for at in range(0, len(encoded), chunk)]
    assert _decode(["gzip"], chunks) == b"".join(parts)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5000), st.sampled_from(["gzip", "deflate", "gzip, deflate"]))
def test_the_limit_holds_for_the_decoded_body(size: int, coding: str) -> None:
    """Decoded bytes past the limit stop the decoding with a 413, however small the input."""
    encoded = _encode(b"\0" * size, coding.split(", "))
    if size <= 1000:
        assert len(_decode([coding], [encoded], limit=1000)) == size
        return
    with pytest.raises(BodyError) as raised:
        _decode([coding], [encoded], limit=1000)
    assert raised.value.status_code == 413
    assert "decoded" in raised.value.detail


def test_an_inflating_body_is_refused_without_inflating_it_whole() -> None:
    """A bomb (a few kB that inflate to gigabytes) is stopped at the limit."""
    bomb = zlib.compressobj()
    encoded = b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(64)) + bomb.flush()
    decoder = BodyDecoder(["deflate"], 1 << 20)
    with pytest.raises(BodyError) as raised:
        decoder.feed(encoded)
    assert raised.value.status_code == 413


@pytest.mark.parametrize(("header", "data", "status", "detail"), [
    (["br"], b"x", 415, "Content-Encoding br is not supported"),
    (["gzip, zstd"], b"x", 415, "Content-Encoding zstd is not supported"),
    (["compress"], b"x", 415, "Content-Encoding compress is not supported"),
    (["gzip"], b"not gzip at all", 400, "the body is not valid gzip data"),
    (["deflate"], b"not deflate", 400, "the body is not valid deflate data"),
    (["gzip"], gzip.compress(b"abc")[:-4], 400, "the gzip body ends early"),
    (["gzip"], b"", 400, "the gzip body ends early"),
    (["deflate"], zlib.compress(b"abc") + b"junk", 400, "bytes after the end of the deflate"),
    (["gzip"], gzip.compress(b"abc") + b"junk", 400, "the body is not valid gzip data"),
])  # fmt: skip
def test_bad_codings_and_bodies_are_refused(
    header: list[str], data: bytes, status: int, detail: str
) -> None:
    """Unknown codings (415), and bytes that are not of their coding (400), say which."""
    with pytest.raises(BodyError) as raised:
        _decode(header, [data])
    assert raised.value.status_code == status
    assert detail in raised.value.detail


def test_an_unknown_coding_names_the_ones_taken() -> None:
    """The 415 says which codings are taken, in its detail and its Accept-Encoding."""
    with pytest.raises(BodyError) as raised:
        BodyDecoder(["br"], LIMIT)
    assert raised.value.headers == {"Accept-Encoding": "gzip, deflate"}
    assert "send gzip, deflate or no Content-Encoding" in raised.value.detail


@pytest.mark.parametrize("header", [[], [""], ["identity"], ["Identity, identity"]])
def test_no_coding_or_identity_passes_the_body_as_it_is(header: list[str]) -> None:
    """No header, an empty one or identity: the body as it came."""
    assert _decode(header, [b"ab", b"c"]) == b"abc"


def test_the_docs_gzipped_status_file_is_the_status_file() -> None:
    """The Service page sends docs/examples/uptime/status.csv.gz: it must not drift."""
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples" / "uptime"
    packed = (examples / "status.csv.gz").read_bytes()
    assert gzip.decompress(packed) == (examples / "status.csv").read_bytes()


# Against a real server: every endpoint that takes a body.


@pytest.fixture(name="server")
def fixture_server(tmp_path: Path) -> Iterator[Running]:
    """A server whose body limit is :data:`LIMIT`."""
    with thread_server(settings_in(tmp_path, report_workers=1, max_body_bytes=LIMIT)) as running:
        yield running


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "gzip, deflate", "identity"])
def test_outages_may_be_sent_encoded(server: Running, coding: str) -> None:
    """``POST /outages`` answers an encoded body as the plain one, and stores the same."""
    with server.client() as client:
        answer = client.post(
            "/outages",
            content=_encode(RECORDS_BODY, coding.split(", ")),
            headers={"content-type": "application/json", "content-encoding": coding},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["records_new"] == 3
        again = client.post(
            "/outages", content=RECORDS_BODY, headers={"content-type": "application/json"}
        )
        assert again.json()["records_duplicate"] == 3
        assert len(client.get("/events").json()["events"]) == 2


@pytest.mark.parametrize(("path", "method", "body", "answer"), [
    ("/store-status", "POST", STATUS_BODY, {"received": 2, "new": 2, "duplicates": 0}),
    ("/business-hours", "PUT",
     b"store_id,dayOfWeek,start_time_local,end_time_local\n1,0,09:00,17:00\n", {"rows": 1}),
    ("/timezones", "PUT", b"store_id,timezone_str\n1,Europe/London\n", {"rows": 1}),
])  # fmt: skip
def test_csv_bodies_may_be_sent_gzipped(
    server: Running, path: str, method: str, body: bytes, answer: dict[str, int]
) -> None:
    """The status store's endpoints take gzipped CSV as they take plain CSV."""
    with server.client() as client:
        result = client.request(
            method, path, content=gzip.compress(body),
            headers={"content-type": "text/csv", "content-encoding": "gzip"},
        )  # fmt: skip
    assert result.status_code == 200, result.text
    assert result.json() == answer


@pytest.mark.parametrize(("headers", "content", "status"), [
    ({"content-encoding": "br"}, b"\x0b\x01\x80[]\x03", 415),
    ({"content-encoding": "gzip"}, RECORDS_BODY, 400),
    ({"content-encoding": "gzip"}, gzip.compress(RECORDS_BODY)[:-8], 400),
    ({"content-encoding": "gzip"}, gzip.compress(b" " * (LIMIT + 1) + RECORDS_BODY), 413),
])  # fmt: skip
def test_refused_encoded_bodies_store_nothing(
    server: Running, headers: dict[str, str], content: bytes, status: int
) -> None:
    """415, 400 and 413 for encoded bodies, JSON errors, and nothing stored by any."""
    with server.client() as client:
        for path in ("/outages", "/store-status"):
            answer = client.post(
                path, content=content, headers={"content-type": "application/json", **headers}
            )
            assert answer.status_code == status, answer.text
            assert set(answer.json()) == {"detail"}
            if status == 415:
                assert answer.headers["accept-encoding"] == "gzip, deflate"
        assert client.get("/events").json()["events"] == []
        client.put("/timezones", json=[{"store_id": "1", "timezone_str": "UTC"}])
        trigger = client.post("/trigger_report")
        assert trigger.status_code == 409  # no poll was stored
