#!/usr/bin/env python3
"""Writes the fuzz_pgcopy seed inputs (tests/fuzz/corpus/pgcopy/): a column
spec (count, type indexes into fuzz_pgcopy.c's TYPES, flags) followed by a
binary COPY stream as PostgreSQL sends it. Run from the repository root."""
import os
import struct

OUT = "tests/fuzz/corpus/pgcopy"
SIG = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">II", 0, 0)


def numeric(digits, weight, sign=0, dscale=0):
    return struct.pack(">hhHh", len(digits), weight, sign, dscale) + b"".join(
        struct.pack(">H", d) for d in digits)


def row(*fields):
    out = struct.pack(">h", len(fields))
    for f in fields:
        out += struct.pack(">i", -1) if f is None else struct.pack(">i", len(f)) + f
    return out


def seed(name, types, flags, rows, trailer=True, header=SIG):
    body = header + b"".join(rows) + (struct.pack(">h", -1) if trailer else b"")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([len(types)] + types + [flags]) + body)


os.makedirs(OUT, exist_ok=True)
i2, i4, i8 = (lambda v: struct.pack(">h", v)), (lambda v: struct.pack(">i", v)), (lambda v: struct.pack(">q", v))
# bool, int2, int4, int8, oid, float4, float8
seed("ints.bin", [0, 1, 2, 3, 4, 5, 6], 0x10 | 2, [
    row(b"\x01", i2(-5), i4(2**31 - 1), i8(-2**63), i4(7), struct.pack(">f", 1.5), struct.pack(">d", -0.0)),
    row(None, None, None, None, None, None, None),
    row(b"\x00", i2(0), i4(0), i8(0), i4(0), struct.pack(">f", float("nan")), struct.pack(">d", float("inf"))),
])
# numeric text, (10,2), (38,0), (5,-3), (2,5), (38,38)
seed("numeric.bin", [7, 8, 9, 10, 11, 12], 0x10, [
    row(numeric([1, 2345], 1, 0, 4), numeric([12, 3400], 0, 0, 2), numeric([9999] * 9 + [99], 9),
        numeric([12], 1), numeric([0, 1200], -1, 0, 5), numeric([1], -1, 0x4000, 38)),
    row(numeric([], 0, 0xC000), numeric([], 0, 0xD000), numeric([], 0, 0), numeric([], 0, 0xF000),
        numeric([5], -2, 0x4000, 8), None),
    row(numeric([1], -3, 0, 12), numeric([1], 3), numeric([1], 10), numeric([1], 2), numeric([9999], 0), numeric([1], -9)),
])
# text, varchar, bpchar, name, json, jsonb, bytea
seed("text.bin", [13, 14, 15, 16, 22, 23, 24], 0x10 | 4, [
    row(b"h\xc3\xa9", b"", b"pad  ", b"n", b'{"a":1}', b'\x01{"b":[]}', b"\x00\xff"),
    row(b"\xff", None, b"x", b"y", b"[]", b"\x02{}", b""),
])
# date, time, timestamp, timestamptz, uuid
seed("datetime.bin", [17, 18, 19, 20, 21], 0x10, [
    row(i4(0), i8(0), i8(0), i8(0), bytes(range(16))),
    row(i4(2**31 - 1), i8(86399999999), i8(2**63 - 1), i8(-2**63), bytes(16)),
    row(i4(-2**31), i8(86400000000), i8(2**62), i8(-2**62), b"\xff" * 16),
])
seed("time_as_text.bin", [18, 25, 26], 0x11, [row(b"24:00:00", b"1 day", b"c")])
seed("one_message.bin", [2, 13], 6, [row(i4(i), b"r%d" % i) for i in range(9)])
seed("no_trailer.bin", [2], 0x10, [row(i4(1))], trailer=False)
seed("bad_header.bin", [2], 0x10, [row(i4(1))], header=b"PGCOPY\n\xff\r\n\x00" + struct.pack(">II", 0, 4) + b"ext!")
seed("zero_cols.bin", [], 0x10, [row(), row()])
seed("wrong_count.bin", [2, 2], 0x10, [row(i4(1))])
