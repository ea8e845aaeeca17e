"""A small reader of OLE compound files (an .xls is one), walking them as calamine's does.

calamine trusts the compound file's header and sector chains: it reserves room for the FAT
and DIFAT lengths the header declares (16 GB for a hostile 0xFFFF), follows the DIFAT and
the directory's chain without looking for a loop (growing a buffer until the memory runs
out), and indexes the FAT by whatever sector number it finds (a panic). read_stream walks
the same structures with every count bounded by the file's size, every chain checked for
loops and for sectors outside the file, and returns the stream calamine would read.
Standard library only: the format is small, and the checks are the point.
"""
from __future__ import annotations

import struct

from finaudit.errors import LedgerError

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_RESERVED, _DIFSECT, _ENDOFCHAIN = 0xFFFFFFFA, 0xFFFFFFFC, 0xFFFFFFFE
_MAX_DIFAT_BYTES = 256 * 1024 * 1024    # what calamine may reserve for the DIFAT: survivable


class OleError(Exception):
    """The compound file is damaged in a way calamine would crash on, or loop on."""


def read_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The first stream of `names` that exists, as calamine reads it, or None if none does.
    Raises OleError where calamine would exhaust memory, loop or panic."""
    if len(data) < 512 or data[:8] != _SIGNATURE:
        raise OleError("not a compound file")
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if shift not in (9, 12) or mini_shift != 6:
        return None                                 # calamine refuses it with an error, no crash
    size = 1 << shift
    header = 512 if shift == 9 else 4096
    fat_len, dir_start = struct.unpack_from("<II", data, 44)
    mini_fat_start, mini_fat_len, difat_start = struct.unpack_from("<III", data, 60)
    difat_len = struct.unpack_from("<I", data, 62)[0]   # calamine reads these bytes, not offset 72
    sectors = (len(data) - header) // size + 1
    if fat_len > sectors or difat_len * 4 > _MAX_DIFAT_BYTES:
        raise OleError("header declares more FAT sectors than the file holds")

    def sector(n: int) -> bytes:
        if n > len(data) // size:                   # calamine's bound
            raise _Stop
        return data[header + n * size:header + (n + 1) * size]

    try:
        difat = list(struct.unpack_from("<109I", data, 76))
        seen, n = set(), difat_start
        while n < _RESERVED:
            if n in seen:
                raise OleError("the DIFAT chain loops")
            seen.add(n)
            difat.extend(_u32(sector(n)))
            n = difat.pop()
        fats = []
        for n in difat:
            if n < _DIFSECT:
                fats.extend(_u32(sector(n)))
        directory = _chain(dir_start, fats, sector, None)
        entries = [directory[i:i + 128] for i in range(0, len(directory), 128)]
        if not entries:
            return None
        root = _entry(entries[0], shift)
        mini = b""
        if mini_fat_len:
            mini = _chain(root[1], fats, sector, root[2])
            minifat = _u32(_chain(mini_fat_start, fats, sector, mini_fat_len * size))
        for wanted in names:
            for raw in entries:
                name, start, length = _entry(raw, shift)
                if name != wanted:
                    continue
                if length < 4096:
                    return _chain(start, minifat if mini_fat_len else [], lambda k: mini[k * 64:(k + 1) * 64],
                                  length)
                return _chain(start, fats, sector, length)
    except _Stop:
        return None                                 # calamine stops with an error: no crash
    return None


class _Stop(Exception):
    pass


def _chain(start: int, fats: list[int], sector, length: int | None) -> bytes:
    """The bytes of a chain, as calamine's get_chain collects them, without its loops."""
    out, seen, n = bytearray(), set(), start
    while n != _ENDOFCHAIN:
        if n in seen:
            raise OleError("a sector chain loops")
        seen.add(n)
        block = sector(n)
        out += block if length is None else block[:length - len(out)]
        if length is not None and len(out) >= length:
            break
        if n >= len(fats):
            raise OleError("a sector chain leaves the FAT")     # calamine indexes past it: a panic
        n = fats[n]
    return bytes(out)


def _entry(raw: bytes, shift: int) -> tuple[str, int, int]:
    raw = raw.ljust(128, b"\0")
    name = raw[:64].decode("utf-16-le", "replace").split("\0", 1)[0]
    start = struct.unpack_from("<I", raw, 116)[0]
    length = struct.unpack_from("<I" if shift == 9 else "<Q", raw, 120)[0]
    return name, start, length


def _u32(block: bytes) -> list[int]:
    usable = len(block) - len(block) % 4
    return list(struct.unpack_from(f"<{usable // 4}I", block)) if usable else []


def refuse(name: str, why: OleError) -> LedgerError:
    return LedgerError(
        f"工作簿“{name}”的复合文件结构已损坏或被篡改，读取会耗尽内存或崩溃，已拒绝读取。",
        f"The compound-file structure of workbook '{name}' is damaged or was tampered with ({why}): "
        "reading it would exhaust memory or crash; refused.")
