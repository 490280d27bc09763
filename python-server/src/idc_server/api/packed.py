"""NumPy columns into packed repeated fields, without a Python number per value.

protobuf's Python API fills a repeated field one Python number at a time
(``field.extend(array.tolist())``), about 40 ns a value, which dominated the
cost of large responses. The wire form of a packed repeated field is simple:
its tag, its length in bytes, then the values, as little-endian 8-byte
doubles or as varints for integers. So this module writes that form with
NumPy and has protobuf parse it with ``MergeFromString``, which copies
doubles in bulk. The result is the same message ``extend`` would build.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_LENGTH_DELIMITED = 2  # wire type of packed repeated fields
SMALL_VARINT_COLUMN = 1500  # below this many integers, protobuf's own extend is quicker than NumPy's set-up
MAX_RUNS = 64  # above this many changes of varint length, drop unused groups with a mask instead
_VARINT_TYPES = frozenset({FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64})


def varint(value: int) -> bytes:
    """One unsigned integer as a protobuf varint: 7 bits a byte, low bits first."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varints(values: npt.NDArray[np.integer]) -> bytes:
    """Signed integers as consecutive varints, vectorised.

    Negative numbers take ten bytes, as protobuf writes int32 and int64: their
    64-bit two's complement.
    """
    unsigned = values.astype(np.int64).view(np.uint64)
    if not len(unsigned):
        return b""
    if int(unsigned.max()) < 1 << 32:
        unsigned = unsigned.astype(np.uint32)  # dates and other small numbers: half the memory traffic
    dtype = unsigned.dtype.type
    lengths = np.ones(len(unsigned), dtype=np.int8)
    widest = int(unsigned.max())
    for k in range(1, 10):
        if widest < 1 << (7 * k):
            break
        lengths += unsigned >= dtype(1 << (7 * k))
    # One row of seven-bit groups per value, low group first, where every
    # group but a value's last has the continuation bit. A row's first
    # ``length`` groups, taken in row order, are the varints end to end.
    # Filled a column at a time: NumPy is slow on short inner dimensions.
    width = int(lengths.max())
    groups = np.empty((len(unsigned), width), dtype=np.uint8)
    for k in range(width):
        group = ((unsigned >> dtype(7 * k)) & dtype(0x7F)).astype(np.uint8)
        group[lengths > k + 1] |= 0x80
        groups[:, k] = group
    changes = np.flatnonzero(np.diff(lengths)) + 1
    if len(changes) <= MAX_RUNS:  # runs of one length each, as increasing dates make: no mask needed
        bounds = [0, *changes.tolist(), len(lengths)]
        return b"".join(groups[lo:hi, : lengths[lo]].tobytes() for lo, hi in itertools.pairwise(bounds))
    return groups[lengths[:, None] > np.arange(width, dtype=np.int8)].tobytes()


def packed(field: FieldDescriptor, values: npt.NDArray[np.generic]) -> bytes:
    """A packed repeated ``double``, ``int32`` or ``int64`` field holding ``values``, in wire form."""
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        payload = np.ascontiguousarray(values, dtype="<f8").tobytes()
    elif field.type in _VARINT_TYPES:
        payload = varints(np.asarray(values))
    else:
        raise TypeError(f"{field.full_name}: only double, int32 and int64 columns are packed here")
    if not payload:
        return b""
    return varint(field.number << 3 | _LENGTH_DELIMITED) + varint(len(payload)) + payload


def append_columns(message: Message, columns: Mapping[str, npt.NDArray[np.generic]]) -> None:
    """Append each array to the repeated field of ``message`` it is named after, as ``extend`` would."""
    fields: Mapping[str, FieldDescriptor] = message.DESCRIPTOR.fields_by_name  # type: ignore[assignment]
    for name, values in columns.items():  # one column at a time: joining them first costs another copy
        field = fields[name]
        if field.type in _VARINT_TYPES and len(values) < SMALL_VARINT_COLUMN:
            getattr(message, name).extend(values.tolist())
        else:
            message.MergeFromString(packed(field, values))
