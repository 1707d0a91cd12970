"""A structural check of ROS 1 bag files (``.bag`` RealSense recordings) before pyrealsense2 reads them.

pyrealsense2's ROS 1 reader trusts the file: a bag header whose index
position or counts are wrong can make it loop forever. :func:`check_rosbag`
walks the record framing in Python first (format 2.0: every record is a
4-byte header length, ``name=value`` fields, a 4-byte data length and the
data) and says what is wrong, if anything:

- the ``#ROSBAG V2.0`` line, then a bag header record (op 3) with
  ``index_pos``, ``conn_count`` and ``chunk_count``;
- the chunk section (from the bag header to ``index_pos``): chunk records
  (op 5) and their index records (op 4), all inside the section; the records
  inside an uncompressed chunk inside the chunk;
- the index section (from ``index_pos`` to the end): exactly ``conn_count``
  connection records (op 7) and ``chunk_count`` chunk-info records (op 6),
  whose ``chunk_pos`` is the position of a chunk found above.

Only headers are read (seeking over data), so a check costs little even for
gigabytes. Files that pass are still opened in a child process first
(:mod:`livepose.sources.rs_probe`). Pure function, any thread.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

MAGIC = b"#ROSBAG V2.0\n"
OP_MESSAGE, OP_BAG_HEADER, OP_INDEX, OP_CHUNK, OP_CHUNK_INFO, OP_CONNECTION = 2, 3, 4, 5, 6, 7
MAX_HEADER_BYTES = 1 << 20  # a record header (its fields) above this is damage
MAX_RECORDS = 10_000_000


class _Bad(Exception):
    """What is wrong (raised and caught inside this module)."""


def check_rosbag(path: str | Path) -> str | None:
    """None when ``path`` is a structurally sound ROS 1 bag, else a short phrase saying what is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return "not a ROS bag (no #ROSBAG V2.0 line)"
            _check(handle, size)
    except _Bad as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


def _read(handle: BinaryIO, count: int, what: str) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise _Bad(f"cut short in {what} at byte {handle.tell()}")
    return data


def _fields(header: bytes, position: int) -> dict[bytes, bytes]:
    fields: dict[bytes, bytes] = {}
    i = 0
    while i < len(header):
        if i + 4 > len(header):
            raise _Bad(f"damaged record header at byte {position}")
        (length,) = struct.unpack_from("<I", header, i)
        i += 4
        if length > len(header) - i:
            raise _Bad(f"damaged record header at byte {position}")
        name, sep, value = header[i:i + length].partition(b"=")
        if not sep:
            raise _Bad(f"damaged record header at byte {position}")
        fields[name] = value
        i += length
    if b"op" not in fields or len(fields[b"op"]) != 1:
        raise _Bad(f"record without an op code at byte {position}")
    return fields


def _record(handle: BinaryIO, end: int, skip_data: bool = True) -> tuple[int, dict[bytes, bytes], int, int]:
    """(position, fields, data position, data length) of the record at the handle's position; the record must
    end by ``end``. The handle is left after the record."""
    position = handle.tell()
    if position + 8 > end:
        raise _Bad(f"cut short in a record at byte {position}")
    (header_length,) = struct.unpack("<I", _read(handle, 4, "a record"))
    if header_length > MAX_HEADER_BYTES or position + 4 + header_length + 4 > end:
        raise _Bad(f"record header of {header_length} bytes at byte {position} overruns its section")
    fields = _fields(_read(handle, header_length, "a record header"), position)
    (data_length,) = struct.unpack("<I", _read(handle, 4, "a record"))
    data_position = handle.tell()
    if data_position + data_length > end:
        raise _Bad(f"record data of {data_length} bytes at byte {position} overruns its section")
    if skip_data:
        handle.seek(data_position + data_length)
    return position, fields, data_position, data_length


def _u(fields: dict[bytes, bytes], name: bytes, size: int, position: int) -> int:
    value = fields.get(name)
    if value is None or len(value) != size:
        raise _Bad(f"record at byte {position} without a valid {name.decode()} field")
    return int.from_bytes(value, "little")


def _check(handle: BinaryIO, size: int) -> None:
    position, fields, _, _ = _record(handle, size)
    if fields[b"op"][0] != OP_BAG_HEADER:
        raise _Bad("the first record is not a bag header")
    index_pos = _u(fields, b"index_pos", 8, position)
    conn_count = _u(fields, b"conn_count", 4, position)
    chunk_count = _u(fields, b"chunk_count", 4, position)
    chunks_start = handle.tell()
    if index_pos == 0:
        raise _Bad("the bag has no index (its recording did not finish)")
    if not chunks_start <= index_pos <= size:
        raise _Bad(f"index position {index_pos} outside the data (bytes {chunks_start} to {size})")
    chunk_positions = set()
    records = 0
    while handle.tell() < index_pos:
        position, fields, data_position, data_length = _record(handle, index_pos)
        op = fields[b"op"][0]
        if op == OP_CHUNK:
            chunk_positions.add(position)
            if fields.get(b"compression", b"none") == b"none":
                _check_chunk(handle, data_position, data_position + data_length)
        elif op != OP_INDEX:
            raise _Bad(f"record op {op} at byte {position} in the chunk section")
        records += 1
        if records > MAX_RECORDS:
            raise _Bad("too many records")
    connections = infos = 0
    while handle.tell() < size:
        position, fields, _, _ = _record(handle, size)
        op = fields[b"op"][0]
        if op == OP_CONNECTION:
            connections += 1
        elif op == OP_CHUNK_INFO:
            infos += 1
            if _u(fields, b"chunk_pos", 8, position) not in chunk_positions:
                raise _Bad(f"chunk info at byte {position} points to no chunk")
        else:
            raise _Bad(f"record op {op} at byte {position} in the index section")
        records += 1
        if records > MAX_RECORDS:
            raise _Bad("too many records")
    if connections != conn_count or infos != chunk_count:
        raise _Bad(f"the bag header counts {conn_count} connections and {chunk_count} chunks, the index holds "
                   f"{connections} and {infos}")


def _check_chunk(handle: BinaryIO, start: int, end: int) -> None:
    """The records inside an uncompressed chunk stay inside it."""
    after = handle.tell()
    handle.seek(start)
    while handle.tell() < end:
        position, fields, _, _ = _record(handle, end)
        if fields[b"op"][0] not in (OP_MESSAGE, OP_CONNECTION):
            raise _Bad(f"record op {fields[b'op'][0]} at byte {position} inside a chunk")
    handle.seek(after)
