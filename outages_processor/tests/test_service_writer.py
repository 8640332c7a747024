"""The event writer: one process storing the ``POST /outages`` batches of every worker.

The messages (a hypothesis round trip and a table of broken frames), then a real writer
process on a Unix socket with real SQLite files: concurrent batches, a writer killed while
batches are in flight (the workers store them, the writer comes back), a database it cannot
use, and ``process_outages serve --workers 2`` with its writer killed under load.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.errors import (
    EventStoreBusyError,
    EventStoreError,
    InputDataError,
    OutagesError,
)
from outages_processor.models.events import IngestResult, OutageRecord, RecordBatch
from outages_processor.stores import event_writer, writer_client
from outages_processor.stores.group_commit import GroupCommitter
from outages_processor.stores.writer_client import WriterClient
from outages_processor.stores.event_writer import writer_running
from outages_processor.stores.writer_wire import (
    MAX_FRAME,
    WireError,
    read_frame,
    read_start,
    reply_frame,
    request_frame,
    request_of,
    result_of,
)
from outages_processor.stores.event_store import EventStore
from outages_processor.tests.service_server import process_server, settings_in
from outages_processor.tests.test_pool import needs_proc
from outages_processor.tests.test_service_events import all_events, as_dicts

MINUTE = 60_000_000


def _read_all(data: bytes) -> list[Any]:
    """Every message of a stream holding ``data``, then its end."""

    async def read() -> list[Any]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        messages = []
        while (message := await read_frame(reader)) is not None:
            messages.append(message)
        return messages

    return asyncio.run(read())


_IDS = st.text(min_size=1, max_size=12).filter(lambda text: "\x00" not in text)
_BATCHES = st.dictionaries(
    _IDS,
    st.dictionaries(_IDS, st.lists(st.integers(-(2**62), 2**62), min_size=1), min_size=1),
    max_size=5,
)


@given(batches=st.lists(_BATCHES, max_size=4), first=st.integers(0, 2**62))
@settings(max_examples=60, deadline=None)
def test_requests_cross_the_wire_unchanged(
    batches: list[dict[str, dict[str, list[int]]]], first: int
) -> None:
    """Any batches, framed one after the other, are read back whole and in order."""
    data = b"".join(
        request_frame(first + number, RecordBatch(batch)) for number, batch in enumerate(batches)
    )
    read = [request_of(message) for message in _read_all(data)]
    assert [request_id for request_id, _ in read] == [first + n for n in range(len(batches))]
    assert [batch.timestamps for _, batch in read] == batches


@given(counts=st.tuples(*[st.integers(0, 10**9)] * 5), request_id=st.integers(0, 2**62))
@settings(max_examples=30, deadline=None)
def test_counts_cross_the_wire_unchanged(counts: tuple[int, ...], request_id: int) -> None:
    """A stored batch's counts come back as the same IngestResult."""
    result = IngestResult(*counts)
    (message,) = _read_all(reply_frame(request_id, result))
    assert result_of(message) == (request_id, result)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (EventStoreBusyError("locked; try again"), EventStoreBusyError),
        (EventStoreError("the event database failed"), EventStoreError),
        (InputDataError("controller_id is empty; nothing was stored"), InputDataError),
        (OutagesError("the group committer is closed"), OutagesError),
        (RuntimeError("something else"), OutagesError),
    ],
)
def test_errors_cross_the_wire_as_the_library_raises_them(
    error: BaseException, kind: type[OutagesError]
) -> None:
    """An error comes back as the same library error class (others as OutagesError)."""
    (message,) = _read_all(reply_frame(7, error))
    request_id, outcome = result_of(message)
    assert request_id == 7
    assert type(outcome) is kind  # pylint: disable=unidiomatic-typecheck
    assert str(outcome) == str(error)
    # The service answers by the same rule: busy is transient (503), bad input 422.
    assert outcome.transient == isinstance(error, EventStoreBusyError)


_FRAME = request_frame(1, RecordBatch({"c": {"led": [MINUTE]}}))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_FRAME[:2], id="cut-in-the-length"),
        pytest.param(_FRAME[:-1], id="cut-in-the-payload"),
        pytest.param(struct.pack(">I", MAX_FRAME + 1) + b"x", id="too-long"),
        pytest.param(struct.pack(">I", 3) + b"\xff\xfe\xfd", id="not-marshal"),
    ],
)
def test_a_broken_stream_is_a_wire_error(data: bytes) -> None:
    """A frame cut short, too long, or not marshal data is refused, never half read."""
    with pytest.raises(WireError):
        _read_all(data)


@pytest.mark.parametrize(
    "value",
    [1, (1,), (1, 2), ("1", {}), (1, [], 3), (1, 0, (1, 2)), (1, 2, "kind", "message")],
)
def test_a_message_of_another_shape_is_a_wire_error(value: Any) -> None:
    """A message that is neither a request nor a reply is refused as such."""
    payload = marshal.dumps(value)
    (message,) = _read_all(struct.pack(">I", len(payload)) + payload)
    with pytest.raises(WireError):
        request_of(message)
    with pytest.raises(WireError):
        result_of(message)


def test_a_none_message_is_not_the_end_of_the_stream() -> None:
    """A frame holding None is refused, not taken for the end of the stream."""
    payload = marshal.dumps(None)
    with pytest.raises(WireError, match="an empty message"):
        _read_all(struct.pack(">I", len(payload)) + payload)


def test_an_empty_stream_has_no_message() -> None:
    """The end of the stream between frames is a clean end."""
    assert not _read_all(b"")


def _random_batches(seed: int, count: int) -> list[RecordBatch]:
    """Batches of reports of a few controllers, out of order, with repeats across batches."""
    rng = random.Random(seed)
    batches = []
    for _ in range(count):
        grouped: dict[str, dict[str, list[int]]] = {}
        for _ in range(rng.randrange(1, 30)):
            by_type = grouped.setdefault(f"c{rng.randrange(6)}", {})
            by_type.setdefault(rng.choice(["led", "comms"]), []).append(
                rng.randrange(0, 600) * MINUTE // 2
            )
        batches.append(RecordBatch(grouped))
    return batches


def _records(batches: list[RecordBatch]) -> list[OutageRecord]:
    return [record for batch in batches for record in batch]


class _CountingCommitter(GroupCommitter):
    """A worker's own committer that counts the batches it was given."""

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.taken = 0

    def submit(self, batch: RecordBatch) -> Any:
        self.taken += 1
        return super().submit(batch)


def _writer_pid(socket_path: str) -> int:
    """The process of the writer listening on ``socket_path`` (from /proc)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if event_writer.WRITER_MODULE.encode() in command and (
                socket_path.encode() in command
            ):
                return int(entry.name)
    raise AssertionError(f"no writer listens on {socket_path}")


async def _ingest_all(client: WriterClient, batches: list[RecordBatch]) -> list[IngestResult]:
    return list(await asyncio.gather(*(client.ingest(batch) for batch in batches)))


@needs_proc
def test_batches_of_many_callers_are_stored_by_the_writer(tmp_path: Path) -> None:
    """Concurrent batches go through the writer process, and end in the batch rule."""
    database = tmp_path / "outages.db"
    batches = _random_batches(1, 60)
    with writer_running(str(database)) as socket_path, EventStore(database) as store:
        writer_pid = _writer_pid(socket_path)
        local = _CountingCommitter(store)
        client = WriterClient(socket_path, local)

        async def run() -> list[IngestResult]:
            try:
                return await _ingest_all(client, batches)
            finally:
                await client.aclose()

        results = asyncio.run(run())
        local.close()
        assert local.taken == 0  # every batch was stored by the writer
        assert _writer_pid(socket_path) == writer_pid
        sent = _records(batches)
        assert sum(result.records_new for result in results) == len(set(sent))
        assert sum(len(batch) for batch in batches) == sum(
            result.records_new + result.records_duplicate for result in results
        )
        assert [event.to_dict() for event in store.events()] == as_dicts(sent)
    assert not Path(socket_path).parent.exists()  # the private folder is removed


@needs_proc
def test_a_refused_batch_is_refused_by_the_writer_alone(tmp_path: Path) -> None:
    """A batch no record could hold gets its own error; the others are stored."""
    database = tmp_path / "outages.db"
    good = RecordBatch({"c": {"led": [0, MINUTE]}})
    bad = RecordBatch({"": {"led": [0]}})
    with writer_running(str(database)) as socket_path, EventStore(database) as store:
        client = WriterClient(socket_path, GroupCommitter(store))

        async def run() -> list[Any]:
            try:
                return await asyncio.gather(
                    client.ingest(good), client.ingest(bad), return_exceptions=True
                )
            finally:
                await client.aclose()

        stored, refused = asyncio.run(run())
        client.local.close()
        assert isinstance(stored, IngestResult) and stored.records_new == 2
        assert isinstance(refused, InputDataError)
        assert "nothing was stored" in str(refused)


@needs_proc
def test_a_killed_writer_is_replaced_and_nothing_is_lost(  # pylint: disable=too-many-locals
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches in flight when the writer dies are stored by the worker; the writer comes back."""
    monkeypatch.setattr(writer_client, "RETRY_AFTER", 0.2)
    caplog.set_level(logging.WARNING)
    database = tmp_path / "outages.db"
    before, during, after = (_random_batches(seed, 40) for seed in (2, 3, 4))
    with writer_running(str(database)) as socket_path, EventStore(database) as store:
        local = _CountingCommitter(store)
        client = WriterClient(socket_path, local)
        first_pid = _writer_pid(socket_path)

        async def run() -> list[IngestResult]:
            results = await _ingest_all(client, before)
            # Killed with batches in flight: those must still be stored, by the worker.
            sent = asyncio.gather(*(client.ingest(batch) for batch in during))
            await asyncio.sleep(0)
            os.kill(first_pid, signal.SIGKILL)
            results += await sent
            taken_while_away = local.taken
            deadline = time.monotonic() + 30
            while _pid_or_none(socket_path) in (None, first_pid) or not _listens(socket_path):
                assert time.monotonic() < deadline, "the writer was not started again"
                await asyncio.sleep(0.05)
            await asyncio.sleep(writer_client.RETRY_AFTER)
            results += await _ingest_all(client, after[:1])  # reconnects
            marker = local.taken
            results += await _ingest_all(client, after[1:])
            assert local.taken == marker  # back on the writer
            assert taken_while_away > 0
            await client.aclose()
            return results

        results = asyncio.run(run())
        local.close()
        sent = _records(before + during + after)
        assert [event.to_dict() for event in store.events()] == as_dicts(sent)
        assert sum(r.records_new + r.records_duplicate for r in results) == len(sent)
    gone = [r.getMessage() for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 1, gone  # said once, not once per batch in flight
    restarted = [r.getMessage() for r in caplog.records if "starting it again" in r.getMessage()]
    assert len(restarted) == 1, restarted


def _listens(socket_path: str) -> bool:
    """Whether a writer accepts connections on ``socket_path`` now."""
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(socket_path)
        except OSError:
            return False
    return True


def _pid_or_none(socket_path: str) -> int | None:
    try:
        return _writer_pid(socket_path)
    except AssertionError:
        return None


@needs_proc
@pytest.mark.parametrize("end", ["abort", "close"])
def test_a_stream_closed_under_a_request_leaves_it_to_the_worker(
    tmp_path: Path, end: str
) -> None:
    """uvloop: the stream closed before its reader noticed; the request is stored here."""
    uvloop = pytest.importorskip("uvloop")
    database = tmp_path / "outages.db"
    with writer_running(str(database)) as socket_path, EventStore(database) as store:
        local = _CountingCommitter(store)
        client = WriterClient(socket_path, local)

        async def run() -> IngestResult:
            await client.ingest(RecordBatch({"c": {"led": [0]}}))  # opens the stream
            stream = client._stream  # pylint: disable=protected-access
            assert stream is not None
            getattr(stream.writer.transport, end)()  # abort: as a reset does
            await asyncio.sleep(0)  # the handle closes; its reader has not run yet
            result = await client.ingest(RecordBatch({"c": {"led": [MINUTE]}}))
            await client.aclose()
            return result

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(run())
        local.close()
        assert result.records_new == 1 and local.taken == 1
        assert len(store.events()) == 1


def test_the_end_of_input_after_the_writer_stopped_is_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parent's pipe ends after the writer's loop closed: no thread traceback."""
    failures: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    read, write = os.pipe()
    loop = asyncio.new_event_loop()
    try:
        watch = event_writer._stop_at_end_of_input(  # pylint: disable=protected-access
            loop, asyncio.Event(), read
        )
        loop.close()  # the writer stopped (a signal, a database it could not use)
        os.close(write)  # then its parent closes the pipe
        watch.join(10)
    finally:
        os.close(read)
    assert not watch.is_alive()
    assert not failures


def test_without_a_writer_each_process_stores_its_own(tmp_path: Path) -> None:
    """No socket (another ASGI server): the worker's own committer stores every batch."""
    with EventStore(tmp_path / "outages.db") as store:
        local = _CountingCommitter(store)
        client = WriterClient(None, local)
        results = asyncio.run(_ingest_all(client, _random_batches(5, 5)))
        local.close()
        assert local.taken == 5 and len(results) == 5


@pytest.mark.parametrize("tries", [1, 2, 5])
def test_a_writer_that_cannot_be_reached_is_tried_again_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tries: int
) -> None:
    """A socket nobody listens on: stored here, and said once however often it is tried."""
    monkeypatch.setattr(writer_client, "RETRY_AFTER", 0.0)  # every batch tries again
    caplog.set_level(logging.WARNING)
    with EventStore(tmp_path / "outages.db") as store:
        local = _CountingCommitter(store)
        client = WriterClient(str(tmp_path / "none.sock"), local)

        async def run() -> None:
            for batch in _random_batches(6, tries):
                await client.ingest(batch)

        asyncio.run(run())
        local.close()
        assert local.taken == tries
    warnings = [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]
    assert len(warnings) == 1, warnings


@needs_proc
def test_a_writer_reached_again_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unreachable, then listening: one warning each way, then the writer stores again."""
    monkeypatch.setattr(writer_client, "RETRY_AFTER", 0.0)
    caplog.set_level(logging.WARNING)
    database = tmp_path / "outages.db"
    with writer_running(str(database)) as socket_path, EventStore(database) as store:
        assert socket_path is not None
        local = _CountingCommitter(store)
        client = WriterClient(socket_path + ".elsewhere", local)

        async def run() -> None:
            for batch in _random_batches(9, 3):
                await client.ingest(batch)
            client.socket_path = socket_path  # as when the writer listens again
            for batch in _random_batches(10, 3):
                await client.ingest(batch)
            await client.aclose()

        asyncio.run(run())
        local.close()
        assert local.taken == 3
    said = [r.getMessage() for r in caplog.records if r.name == writer_client.__name__]
    assert len(said) == 2 and "cannot reach" in said[0] and "is back" in said[1], said


def test_a_writer_that_cannot_use_the_database_says_why(tmp_path: Path) -> None:
    """A file that is not an event database: the writer does not start, and says why."""
    other = tmp_path / "notes.db"
    other.write_text("not a database at all\n" * 200, encoding="utf-8")
    with pytest.raises(EventStoreError, match="the event writer cannot start: .*notes.db"):
        with writer_running(str(other)):
            pass  # pragma: no cover - never reached


def test_serve_refuses_a_database_it_cannot_use(tmp_path: Path) -> None:
    """process_outages serve on such a file: one line, exit 3, no traceback, no server."""
    other = tmp_path / "notes.db"
    other.write_text("not a database at all\n" * 200, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "outages_processor", "serve", "--port", "0",
         "--events-db", str(other), "--uptime-db", str(tmp_path / "u.db"),
         "--reports-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the event writer cannot start: ")
    assert "notes.db" in lines[0]


@needs_proc
def test_serve_with_two_workers_survives_a_killed_writer(tmp_path: Path) -> None:
    """Under load from 4 clients the writer is killed: every request is stored, in the rule."""
    rng = random.Random(8)
    work = [
        [
            [
                {"controller_id": f"c{rng.randrange(5)}", "outage_type": "led",
                 "timestamp": f"2024-01-01T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"}
                for _ in range(rng.randrange(1, 20))
            ]
            for _ in range(40)
        ]
        for _ in range(4)
    ]  # fmt: skip
    with process_server(settings_in(tmp_path), tmp_path, workers=2) as server:
        pid = _writer_of(server.stderr)
        halfway = threading.Barrier(5)

        def send(batches: list[list[dict[str, str]]]) -> None:
            with server.client() as client:
                for number, batch in enumerate(batches):
                    if number == len(batches) // 2:
                        halfway.wait(30)
                    answer = client.post("/outages", json=batch)
                    assert answer.status_code == 200, answer.text

        with ThreadPoolExecutor(4) as pool:
            sending = [pool.submit(send, batches) for batches in work]
            halfway.wait(30)
            os.kill(pid, signal.SIGKILL)
            for future in sending:
                future.result()
        sent = [OutageRecord.from_dict(item) for batches in work for b in batches for item in b]
        with server.client() as client:
            assert all_events(client, limit=50) == as_dicts(sent)
        deadline = time.monotonic() + 30
        while _pid_of_writer_or_none(server.stderr) in (None, pid):
            assert time.monotonic() < deadline, "the writer was not started again"
            time.sleep(0.05)
    log = server.stderr_text()
    assert "Traceback" not in log
    assert "the event writer exited" in log


def _pid_of_writer_or_none(log: Path | None) -> int | None:
    try:
        return _writer_of(log)
    except AssertionError:
        return None


def _writer_of(log: Path | None) -> int:
    """The writer process of the server whose stderr goes to ``log`` (the writer's does too)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
                stderr = os.readlink(entry / "fd" / "2")
            except OSError:
                continue
            if event_writer.WRITER_MODULE.encode() in command and stderr == str(log):
                return int(entry.name)
    raise AssertionError("the server has no writer")


@pytest.mark.parametrize("ending", ["input", "signal"])
def test_a_writer_whose_parent_is_gone_removes_its_socket(tmp_path: Path, ending: str) -> None:
    """The end of its input (its parent closed it, or died): the socket and folder go.

    After a signal the parent may start a writer on the same path again: the folder stays.
    """
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    socket_path = folder / "writer.sock"
    writer = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", event_writer.WRITER_MODULE,
         str(tmp_path / "outages.db"), str(socket_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert writer.stdout is not None and writer.stdin is not None
    assert read_start(writer.stdout) is None  # it listens
    assert socket_path.is_socket()
    if ending == "input":
        writer.stdin.close()
    else:
        writer.send_signal(signal.SIGTERM)
    assert writer.wait(30) == 0
    writer.stdout.close()
    if ending == "input":
        assert not folder.exists()
    else:
        writer.stdin.close()
        assert folder.exists()
