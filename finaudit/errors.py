"""Typed errors that stop an audit. Only the CLI (finaudit/cli/base.py) turns them into exit codes."""
from __future__ import annotations

import errno
import re

# Line breaks, tabs and other control characters (C0, DEL and C1, whose \x85 is a line break
# too): a sheet named "a&#10;b" must not turn the one line a user or a scheduled run reads into two.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class FinauditError(Exception):
    """An error a user can act on, worded once in Chinese and once in English."""

    def __init__(self, zh: str, en: str):
        zh, en = _CONTROL.sub(" ", zh), _CONTROL.sub(" ", en)
        super().__init__(en)
        self.zh = zh
        self.en = en

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class LedgerError(FinauditError):
    """The ledger cannot be read as a ledger (missing file, sheet or column, unreadable format)."""


class RuleError(FinauditError):
    """A rule or profile file is malformed; the message names the file."""


class UsageError(FinauditError):
    """The call itself is wrong (unknown profile, rule or option value)."""


def join_names(names, lang: str) -> str:
    """Lists names the way each language does: 、 in Chinese, ', ' in English."""
    return ("、" if lang == "zh" else ", ").join(str(n) for n in names)


# What the operating system says, as a Chinese user reads it (strerror is English).
_OS_REASONS_ZH = {
    errno.ENOENT: "文件或文件夹不存在", errno.EACCES: "没有权限", errno.EPERM: "不允许此操作",
    errno.ENOSPC: "磁盘空间不足", errno.EROFS: "文件系统只读", errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹", errno.EEXIST: "已存在", errno.ENAMETOOLONG: "文件名太长",
    errno.EBUSY: "正被占用", errno.EIO: "读写出错（磁盘或网络盘故障）", errno.EDQUOT: "超出磁盘配额",
    errno.EMFILE: "打开的文件太多", errno.ETXTBSY: "文件正被使用",
}


def os_reason(exc: OSError, lang: str) -> str:
    """An OSError's reason in the user's language: the errno's Chinese name, else what the
    system said."""
    if lang == "zh" and exc.errno in _OS_REASONS_ZH:
        return _OS_REASONS_ZH[exc.errno]
    return exc.strerror or type(exc).__name__


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An error's message on one line, cut at `limit` characters (a JVM's or a library's runs to pages)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
