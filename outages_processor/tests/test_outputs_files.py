"""Output files: what atomic writes do to each kind of path, modes, and all-or-none outputs."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from outages_processor.stores.output_files import (
    output_files,
    resolve_output,
    write_text_atomic,
    writes_in_place,
)

NEW = "new content\n"


@pytest.fixture(name="umask")
def fixture_umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test and restore it afterwards."""
    saved = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(saved)


def _leftovers(folder: Path) -> list[str]:
    """Temporary files left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "out.txt"


def _regular(tmp_path: Path) -> Path:
    path = tmp_path / "out.txt"
    path.write_text("old\n", encoding="utf-8")
    return path


def _symlink_to_file(tmp_path: Path) -> Path:
    _regular(tmp_path)
    link = tmp_path / "link"
    link.symlink_to("out.txt")
    return link


def _dangling_symlink(tmp_path: Path) -> Path:
    link = tmp_path / "link"
    link.symlink_to("out.txt")
    return link


def _symlink_chain(tmp_path: Path) -> Path:
    _regular(tmp_path)
    (tmp_path / "middle").symlink_to("out.txt")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "middle")
    return link


@pytest.mark.parametrize(
    "make",
    [_missing, _regular, _symlink_to_file, _dangling_symlink, _symlink_chain],
    ids=["missing", "regular", "symlink", "dangling-symlink", "symlink-chain"],
)
def test_a_file_path_gets_the_content_and_links_stay_links(
    make: Callable[[Path], Path], tmp_path: Path
) -> None:
    """Files are replaced atomically; a symlink (chain) is followed and kept."""
    path = make(tmp_path)
    links = [p for p in tmp_path.iterdir() if p.is_symlink()]
    write_text_atomic(path, NEW)
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == NEW
    assert stat.S_ISREG((tmp_path / "out.txt").lstat().st_mode)
    assert [p for p in tmp_path.iterdir() if p.is_symlink()] == links
    assert _leftovers(tmp_path) == []


def test_a_fifo_is_written_straight_through(tmp_path: Path) -> None:
    """A FIFO is written to, not replaced by a file: its reader gets the content."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []

    def read() -> None:
        with open(fifo, encoding="utf-8") as stream:
            received.append(stream.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert writes_in_place(resolve_output(fifo))
    write_text_atomic(fifo, NEW)
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert received == [NEW]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_character_device_is_written_straight_through() -> None:
    """os.devnull (a character device) is written to and stays a character device."""
    # Proven safe first: a path written in place is never renamed over.
    assert writes_in_place(resolve_output(os.devnull))
    write_text_atomic(os.devnull, NEW)
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_a_symlink_to_a_fifo_writes_to_the_fifo(tmp_path: Path) -> None:
    """A symlink whose target is a FIFO is followed to it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    assert resolve_output(link) == str(fifo)
    assert writes_in_place(resolve_output(link))


def test_a_symlink_loop_is_an_error_naming_the_path(tmp_path: Path) -> None:
    """A symlink loop cannot be followed: ELOOP naming the given path, nothing written."""
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError, match="Too many levels of symbolic links") as caught:
        write_text_atomic(tmp_path / "a", NEW)
    assert caught.value.filename == str(tmp_path / "a")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    assert _leftovers(tmp_path) == []


def test_a_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    """A folder is never written over: IsADirectoryError naming the path."""
    with pytest.raises(IsADirectoryError) as caught:
        write_text_atomic(tmp_path, NEW)
    assert caught.value.filename == str(tmp_path)


@pytest.mark.parametrize(
    ("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0o000, 0o666)]
)
def test_a_new_file_honours_the_umask(
    mask: int, mode: int, tmp_path: Path, umask: Callable[[int], None]
) -> None:
    """A new output gets 0666 less the umask, as ``open`` would give it."""
    umask(mask)
    write_text_atomic(tmp_path / "out.txt", NEW)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664, 0o755])
def test_a_replaced_file_keeps_its_mode(
    mode: int, tmp_path: Path, umask: Callable[[int], None]
) -> None:
    """Replacing a file keeps its permission bits, whatever the umask."""
    umask(0o077)
    path = _regular(tmp_path)
    path.chmod(mode)
    write_text_atomic(path, NEW)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text(encoding="utf-8") == NEW


def test_outputs_appear_together_at_the_end(tmp_path: Path) -> None:
    """Staged outputs appear only when the block ends, all of them."""
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    with output_files() as outputs:
        outputs.open(first).write("a\n")
        outputs.open(second).write("b\n")
        assert not first.exists() and not second.exists()
    assert (first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")) == ("a\n", "b\n")
    assert _leftovers(tmp_path) == []


def test_an_output_that_cannot_be_created_leaves_no_other(tmp_path: Path) -> None:
    """The second output's folder is missing: the first does not appear either."""
    first, second = tmp_path / "a.txt", tmp_path / "gone" / "b.txt"
    with pytest.raises(FileNotFoundError) as caught:
        with output_files() as outputs:
            outputs.open(first).write("a\n")
            outputs.open(second).write("b\n")
    assert caught.value.filename == str(second)
    assert not first.exists()
    assert _leftovers(tmp_path) == []


def test_a_failure_in_the_block_keeps_the_old_files(tmp_path: Path) -> None:
    """An error while writing: existing targets keep their old content, no temporaries."""
    first = _regular(tmp_path)
    with pytest.raises(RuntimeError):
        with output_files() as outputs:
            outputs.open(first).write("half")
            raise RuntimeError("interrupted")
    assert first.read_text(encoding="utf-8") == "old\n"
    assert _leftovers(tmp_path) == []


def test_a_device_that_cannot_take_the_data_leaves_no_file(tmp_path: Path) -> None:
    """/dev/full as one output fails when flushed: the other output does not appear."""
    first = tmp_path / "a.txt"
    assert writes_in_place(resolve_output("/dev/full"))
    with pytest.raises(OSError, match="No space left on device") as caught:
        with output_files() as outputs:
            outputs.open(first).write("a\n")
            outputs.open("/dev/full").write("b\n")
    assert caught.value.filename == "/dev/full"
    assert not first.exists()
    assert _leftovers(tmp_path) == []
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)
