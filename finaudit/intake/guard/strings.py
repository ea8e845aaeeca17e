"""The shared-strings part of an xlsx, read as calamine reads it: how many strings it promises
(calamine reserves room for `uniqueCount` before reading one) and how many it holds.

The `<sst>` tag is found wherever it is, not in the first 64 KB only: an XML comment or a
processing instruction in front of it moves it as far as its writer likes. Comments,
processing instructions and CDATA are skipped as an XML parser skips them, so a decoy
`<sst>` inside a comment is not taken for the real one. Memory is bounded: one chunk and
one start tag (at most _MAX_TAG bytes) at a time.
"""
from __future__ import annotations

import re

from finaudit.errors import LedgerError
from finaudit.intake.guard.archive import inflate, refuse_entities, PROLOG

_MAX_TAG = 1024 * 1024      # a start tag longer than this is no spreadsheet program's
_SI = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?si[\s/>]")
_SI_CARRY = 64              # longer than any `<prefix:si ` the pattern matches
_UNIQUE = re.compile(rb'(?:^|\s)uniqueCount\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_NAME = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


class _Tags:
    """Finds start tags across chunks, skipping comments, PIs and CDATA sections."""

    _ENDS = {b"<!--": b"-->", b"<?": b"?>", b"<![CDATA[": b"]]>", b"<!": b">"}

    def __init__(self):
        self.pending = b""
        self.skip_to: bytes | None = None       # the end of the comment/PI/CDATA we are in

    def feed(self, data: bytes):
        """Yields each complete start tag (bytes, from `<` to `>`) seen in data."""
        buf = self.pending + data
        self.pending = b""
        at = 0
        while True:
            if self.skip_to is not None:
                end = buf.find(self.skip_to, at)
                if end < 0:
                    self.pending = buf[max(at, len(buf) - len(self.skip_to) + 1):]
                    return
                at, self.skip_to = end + len(self.skip_to), None
            lt = buf.find(b"<", at)
            if lt < 0:
                return
            for opener, closer in self._ENDS.items():
                if buf.startswith(opener, lt):
                    self.skip_to, at = closer, lt + len(opener)
                    break
                if len(buf) - lt < len(opener) and opener.startswith(buf[lt:]):
                    self.pending = buf[lt:]     # cannot tell yet: wait for more
                    return
            else:
                end = _tag_end(buf, lt)
                if end < 0:
                    if len(buf) - lt > _MAX_TAG:
                        raise ValueError("start tag too long")
                    self.pending = buf[lt:]
                    return
                if buf[lt + 1:lt + 2] != b"/":
                    yield buf[lt:end + 1]
                at = end + 1


def _tag_end(buf: bytes, lt: int) -> int:
    """The `>` closing the tag at `lt`, past quoted attribute values; -1 if not in buf yet."""
    at = lt + 1
    while True:
        gt = buf.find(b">", at)
        if gt < 0:
            return -1
        quotes = [q for q in (buf.find(b'"', at, gt), buf.find(b"'", at, gt)) if q >= 0]
        if not quotes:
            return gt
        q = min(quotes)
        close = buf.find(buf[q:q + 1], q + 1)
        if close < 0:
            return -1
        at = close + 1


def scan_strings(fp, info, name: str) -> int:
    """Refuses a shared-strings part claiming more strings than it could hold; returns how
    many `<si>` items it holds (an upper bound: a commented-out one counts too)."""
    tags, declared, count, carry, first = _Tags(), None, 0, b"", True
    for data in inflate(fp, info, name):
        if first:
            refuse_entities(data[:PROLOG], name, info.filename)
            first = False
        if declared is None:
            try:
                for tag in tags.feed(data):
                    match = _NAME.match(tag)
                    if match and match.group(2) == b"sst":
                        declared = _unique_count(tag)
                        _refuse_count(declared, info, name)
                        break
            except ValueError:
                raise _too_long(name, info.filename) from None
        # A match holds one `<`, its first byte: one starting before a `<` ends by then.
        window = carry + data
        cut = window.rfind(b"<", max(len(window) - _SI_CARRY, 0))
        cut = len(window) if cut < 0 else cut
        count += len(_SI.findall(window, 0, cut))
        carry = window[cut:]
    count += len(_SI.findall(carry))
    return count


def _unique_count(tag: bytes) -> int:
    match = _UNIQUE.search(tag)
    raw = match and (match.group(1) if match.group(1) is not None else match.group(2))
    return int(raw) if raw and raw.isdigit() else 0     # calamine reserves only for plain digits


def _refuse_count(declared: int, info, name: str) -> None:
    """calamine reserves room for the `uniqueCount` sharedStrings.xml declares before reading a
    string: 4294967296 in a 2 KB file aborts the process. Each string takes at least the 5 bytes
    of `<si/>`, so a uniqueCount above a fifth of the part's size is a lie. (`count` is the
    number of cells using the strings, often larger, as LibreOffice writes it; calamine does
    not reserve by it: measured.)"""
    possible = info.file_size // 5
    if declared > possible:
        raise LedgerError(
            f"工作簿“{name}”的共享字符串表声明有 {declared:,} 个字符串，但其大小最多容得下 {possible:,} 个："
            "文件被篡改或已损坏，已拒绝读取。",
            f"The shared-strings table of workbook '{name}' declares {declared:,} strings where its size holds "
            f"at most {possible:,}: the file was tampered with or is damaged; refused.")


def _too_long(name: str, member: str) -> LedgerError:
    return LedgerError(
        f"工作簿“{name}”的“{member}”含有长于 1 MB 的 XML 标签，不是电子表格程序写出的，已拒绝读取。",
        f"'{member}' in workbook '{name}' holds an XML tag longer than 1 MB, which no spreadsheet program "
        "writes; refused.")
