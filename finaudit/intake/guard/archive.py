"""The zip container of an .xlsx, .xlsm, .xlsb or .ods, checked before any parser opens it.

Declared sizes and ratios (zip bombs), encryption and compression methods, and the members'
names: calamine's zip library and Python's zipfile must see the same member under the same
name. A name with a backslash (calamine reads `xl\\worksheets\\a.xml` as `xl/worksheets/a.xml`,
zipfile does not), two names differing only in case (calamine looks parts up ignoring case),
a Unicode-path extra field naming another path than the header (the Rust library takes the
field, zipfile the header), `..` or an absolute path, or the same name twice: each would let
the guard check one part while the reader reads another, and each is refused naming it.
Parts are inflated from the archive itself, never past the size they declare.
"""
from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

from finaudit.errors import LedgerError
from finaudit.intake.guard.limits import ENV_MAX_UNZIPPED_MB, MIB, Limits, size_text

OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # compound file: an encrypted xlsx, or an .xls
CHUNK = MIB                 # inflated bytes handed to a scanner at a time
PROLOG = 64 * 1024          # where an XML part's DTD, if any, must be
_UNICODE_PATH = 0x7075      # Info-ZIP Unicode Path extra field
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, struct.error,
              NotImplementedError, ValueError, LookupError, MemoryError)


def check_signature(path: Path, kind: str = "xlsx") -> None:
    with open(path, "rb") as fp:
        head = fp.read(8)
    if not head:
        raise LedgerError(f"文件“{path.name}”是空文件（0 字节），不是 {kind} 工作簿。",
                          f"'{path.name}' is an empty file (0 bytes), not an {kind} workbook.")
    if head == OLE_SIGNATURE:
        raise LedgerError(
            f"工作簿“{path.name}”设有打开密码（已加密），或是旧版 .xls 文件，无法读取；"
            "请在 Excel 中删除密码（文件 → 信息 → 保护工作簿 → 用密码进行加密）或另存为 .xlsx 后重试。",
            f"Workbook '{path.name}' is password-protected (encrypted) or an old .xls file, so it cannot be "
            "read; remove the password in Excel (File > Info > Protect Workbook > Encrypt with Password) "
            "or save it as .xlsx, then try again.",
        )
    if not head.startswith(b"PK"):
        raise LedgerError(
            f"文件“{path.name}”不是 {kind} 工作簿：{kind} 是 zip 压缩包，而它不是（可能是改了扩展名的其他文件）。",
            f"'{path.name}' is not an {kind} workbook: an {kind} file is a zip archive and this one is not "
            "(perhaps another kind of file renamed).",
        )


def damaged(name: str, kind: str = "xlsx") -> LedgerError:
    return LedgerError(f"工作簿“{name}”已损坏或不完整（可能在下载或复制时被截断），无法作为 {kind} 读取。",
                       f"Workbook '{name}' is damaged or incomplete (perhaps cut short while downloading or "
                       f"copying) and cannot be read as {kind}.")


def check_directory(name: str, infos, limits: Limits) -> None:
    """Declared sizes and names, before anything is inflated."""
    if len(infos) > limits.max_members:
        raise LedgerError(f"工作簿“{name}”包含 {len(infos):,} 个压缩成员，超过上限 {limits.max_members:,} 个，已拒绝读取。",
                          f"Workbook '{name}' holds {len(infos):,} zip members, over the limit of "
                          f"{limits.max_members:,}; refused.")
    _check_names(name, infos)
    for info in infos:
        if info.flag_bits & 0x1:
            raise LedgerError(f"工作簿“{name}”的成员“{info.filename}”经过 zip 加密，无法读取。",
                              f"Member '{info.filename}' of workbook '{name}' is zip-encrypted and cannot be read.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise LedgerError(
                f"工作簿“{name}”的成员“{info.filename}”使用了不支持的压缩方法（编号 {info.compress_type}），"
                "Excel 只用 deflate，已拒绝读取。",
                f"Member '{info.filename}' of workbook '{name}' uses compression method {info.compress_type}; "
                "Excel only writes deflate. Refused.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_min_bytes and ratio > limits.max_ratio:
            raise LedgerError(
                f"工作簿“{name}”的成员“{info.filename}”解压后将达 {size_text(info.file_size)}，压缩比 {ratio:,.0f}:1，"
                f"超过上限 {limits.max_ratio:,.0f}:1，疑似压缩炸弹，已拒绝读取。",
                f"Member '{info.filename}' of workbook '{name}' would inflate to {size_text(info.file_size)}, a "
                f"compression ratio of {ratio:,.0f}:1, over the limit of {limits.max_ratio:,.0f}:1 "
                "(a zip bomb?); refused.")
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped_bytes:
        packed = max(sum(info.compress_size for info in infos), 1)
        raise LedgerError(
            f"工作簿“{name}”解压后将达 {size_text(total)}，超过上限 {size_text(limits.max_unzipped_bytes)}"
            f"（压缩比 {total / packed:,.0f}:1），疑似压缩炸弹，已拒绝读取。",
            f"Workbook '{name}' would inflate to {size_text(total)}, over the limit of "
            f"{size_text(limits.max_unzipped_bytes)} (compression ratio {total / packed:,.0f}:1; a zip bomb?); "
            f"refused. The limit is set by {ENV_MAX_UNZIPPED_MB}.")


def _check_names(name: str, infos) -> None:
    """Every member has one name, the same for zipfile, for calamine's zip library, and for a
    spreadsheet program; see the module's docstring."""
    seen: dict[str, str] = {}
    for info in infos:
        member = info.filename
        if "\\" in member and not _gbk_trail_byte(info):
            _refuse_name(name, member, "名称含反斜杠“\\”，其他程序会把它读作另一个路径",
                         "has a backslash in its name, which other programs read as another path")
        if member.startswith("/") or re.match(r"[A-Za-z]:", member) or ".." in member.split("/"):
            _refuse_name(name, member, "是绝对路径或含“..”，指向工作簿之外",
                         "is an absolute path or holds '..', pointing outside the workbook")
        other = _unicode_path(info)
        if other is not None and other not in {member, _as_gbk(info)}:
            _refuse_name(name, member, f"另带有一个 Unicode 路径“{other}”，不同程序会按不同的名称读取它",
                         f"also carries a Unicode path '{other}', so programs would read it under different names")
        key = member.lower()
        if key in seen:
            if seen[key] == member:
                _refuse_name(name, member, "出现了两次，不同程序会读取不同的一份",
                             "appears twice, and programs would read different copies")
            _refuse_name(name, member, f"与“{seen[key]}”只有大小写不同，不同程序会读取不同的一份",
                         f"differs from '{seen[key]}' only in case, and programs would read different ones")
        seen[key] = member


def _as_gbk(info) -> str | None:
    """The name of a member not flagged UTF-8, read as GBK, as a Chinese Windows zip tool wrote
    it (often with the same name in UTF-8 in a Unicode-path field); None if it is not GBK."""
    if info.flag_bits & 0x800:
        return None
    try:
        return info.orig_filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def _gbk_trail_byte(info) -> bool:
    """Whether every backslash of a GBK name is the second byte of a character (about a
    hundred, 禱 and 籠 among them), not a separator. Either way no part a reader looks up by
    name has a non-ASCII name: a sheet stored under one is refused as missing."""
    gbk = _as_gbk(info)
    return gbk is not None and "\\" not in gbk


def _refuse_name(name: str, member: str, zh: str, en: str):
    raise LedgerError(f"工作簿“{name}”的成员“{member}”{zh}，已拒绝读取。",
                      f"Member '{member}' of workbook '{name}' {en}; refused.")


def _unicode_path(info) -> str | None:
    """The name an Info-ZIP Unicode Path extra field (0x7075) gives the member, or None."""
    extra, at = info.extra, 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4:at + 4 + size]
        if kind == _UNICODE_PATH and len(body) >= 5:
            return body[5:].decode("utf-8", "replace")
        at += 4 + size
    return None


def inflate(fp, info, name: str):
    """Yields the member's bytes from the archive itself, never more than it declares: a part
    that inflates past its declared size is refused, whatever the directory says."""
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise damaged(name)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    local = fp.read(name_len)
    if local.decode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace") != info.orig_filename:
        raise damaged(name)      # zipfile compares the two names too; a reader may take either
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise damaged(name)
        while left:
            data = fp.read(min(CHUNK, left))
            if not data:
                raise damaged(name)
            left -= len(data)
            yield data
        return
    inflater, produced, pending = zlib.decompressobj(-15), 0, b""
    while not inflater.eof:
        if pending:
            data = inflater.decompress(pending, CHUNK)
            pending = inflater.unconsumed_tail
        elif left:
            pending = fp.read(min(MIB, left))
            if not pending:
                raise damaged(name)
            left -= len(pending)
            continue
        else:
            data = inflater.flush()             # what zlib still holds: at most one match
            if not inflater.eof:
                raise damaged(name)             # the deflate stream is cut short
        produced += len(data)
        if produced > info.file_size:
            raise LedgerError(
                f"工作簿“{name}”的成员“{info.filename}”实际解压后超过其声明的 {size_text(info.file_size)}，"
                "文件被篡改或已损坏，已拒绝读取。",
                f"Member '{info.filename}' of workbook '{name}' inflates past the {size_text(info.file_size)} it "
                "declares: the file was tampered with or is damaged; refused.")
        if data:
            yield data


def drain(fp, info, name: str) -> None:
    """Inflates a part nobody scans, to hold it to its declared size; XML parts must not
    declare entities."""
    first = True
    for data in inflate(fp, info, name):
        if first and info.filename.endswith((".xml", ".rels")):
            refuse_entities(data[:PROLOG], name, info.filename)
        first = False


def refuse_entities(prolog: bytes, name: str, member: str) -> None:
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise entities(name, member)


def entities(name: str, member: str) -> LedgerError:
    return LedgerError(
        f"工作簿“{name}”的“{member}”含有 XML 实体或 DTD 声明（可能是 XXE 或“十亿笑”攻击），已拒绝读取。",
        f"'{member}' in workbook '{name}' contains XML entity or DTD declarations (possible XXE / "
        "billion-laughs attack); refused.")


def open_zip(path: Path, limits: Limits, kind: str):
    """(ZipFile, its infos) after the directory checks; the caller closes the ZipFile."""
    zf = zipfile.ZipFile(path)
    try:
        infos = zf.infolist()
        check_directory(path.name, infos, limits)
    except BaseException:
        zf.close()
        raise
    return zf, infos


OVERLAP = 64 * 1024        # seen again after a chunk boundary: longer than any cell Excel writes


def windows(chunks):
    """Yields (window, limit): handle what starts in window[:limit], reading past limit as far
    as needed. Chunks are not copied: what starts in the last OVERLAP bytes of a chunk is
    handled in a seam, those bytes followed by the first OVERLAP of the next chunk."""
    chunks = _coalesced(chunks)
    current = next(chunks, None)
    while current is not None:
        following = next(chunks, None)
        if following is None:
            yield current, len(current)
            return
        body = len(current) - OVERLAP
        yield current, body
        yield current[body:] + following[:OVERLAP], OVERLAP
        current = following


def _coalesced(chunks):
    """Chunks of at least 2 x OVERLAP bytes, but the last."""
    pending = b""
    for chunk in chunks:
        pending = pending + chunk if pending else chunk
        if len(pending) >= 2 * OVERLAP:
            yield pending
            pending = b""
    if pending:
        yield pending
