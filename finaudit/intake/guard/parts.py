"""One view of an xlsx workbook: its sheets' names, order and parts, from one parse of
_rels/.rels, xl/workbook.xml and its relationships, resolved as a spreadsheet program
resolves them, and nothing that a reader would resolve otherwise.

calamine finds the workbook through _rels/.rels but then reads `xl/workbook.xml`,
`xl/sharedStrings.xml` and `xl/styles.xml` by name, looks parts up ignoring case, and takes
a relationship's target as it is written; openpyxl finds the workbook by content type,
normalises `..` in targets, looks parts up by exact name, and skips a sheet whose part is
missing; Excel follows the relationships. Where those could differ, the workbook is
refused with one sentence naming the sheet or the part, so that every reader reads the
same sheets from the same parts: a sheet that one reader lists and another does not would
shift every sheet after it.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from finaudit.errors import LedgerError
from finaudit.intake.guard.limits import MIB, size_text
from finaudit.intake.guard.archive import damaged, entities

_MAX_TREE_BYTES = 64 * MIB  # xl/workbook.xml and its .rels are parsed as trees
_REL_NS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
           "http://purl.oclc.org/ooxml/officeDocument/relationships")
_STRICT = "http://purl.oclc.org/ooxml/"
_SHEET_KINDS = {"worksheet", "chartsheet", "dialogsheet"}
_SHEET_FOLDERS = ("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/", "xl/macrosheets/")
WORKBOOK, STRINGS, STYLES = "xl/workbook.xml", "xl/sharedStrings.xml", "xl/styles.xml"


@dataclass(frozen=True)
class SheetPart:
    name: str
    member: str                 # the zip member holding the sheet
    kind: str                   # worksheet, chartsheet or dialogsheet
    state: str = "visible"


@dataclass
class WorkbookView:
    """What every reader will see: the sheets in workbook order, and the parts read by name."""

    sheets: list[SheetPart] = field(default_factory=list)
    recalc: bool = False        # calcPr fullCalcOnLoad: left for Excel to calculate when opened
    strict: bool = False        # Strict Open XML (ISO/IEC 29500 strict namespaces)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sheets]

    @property
    def by_member(self) -> dict[str, str]:
        """Each sheet's name by the zip member holding it."""
        return {s.member: s.name for s in self.sheets}


def read_view(zf, name: str, members: set[str]) -> WorkbookView:
    """Raises LedgerError where readers would disagree on the sheets; see the module."""
    view = WorkbookView()
    package = _tree(zf, name, "_rels/.rels", members)
    documents = [r for r in _relationships(package) if r[1].endswith("/relationships/officeDocument")]
    if len(documents) != 1 or _resolve("", documents[0][2]) != WORKBOOK:
        raise _unusual(name, "_rels/.rels", "没有唯一指向 xl/workbook.xml 的主文档关系",
                       "does not name xl/workbook.xml as the one main document")
    view.strict = documents[0][1].startswith(_STRICT)
    book = _tree(zf, name, WORKBOOK, members)
    view.strict = view.strict or book.tag.startswith("{" + _STRICT)
    rels = _tree(zf, name, "xl/_rels/workbook.xml.rels", members)
    by_id: dict[str, tuple[str, str, str]] = {}
    for rel in _relationships(rels):
        if rel[0] in by_id:
            raise _unusual(name, "xl/_rels/workbook.xml.rels", f"有两个编号为“{rel[0]}”的关系",
                           f"holds two relationships with the id '{rel[0]}'")
        by_id[rel[0]] = rel
    _check_named_part(name, [r for r in by_id.values() if r[1].endswith("/sharedStrings")], STRINGS, members)
    _check_named_part(name, [r for r in by_id.values() if r[1].endswith("/styles")], STYLES, members)
    for el in book.iter():
        tag = _local(el.tag)
        if tag == "sheet":
            view.sheets.append(_sheet(name, el, by_id, members))
        elif tag == "calcPr":
            view.recalc = (el.get("fullCalcOnLoad") or "").lower() in {"1", "true", "on"}
    _check_sheets(name, view, members)
    return view


def _sheet(name: str, el, by_id, members: set[str]) -> SheetPart:
    sheet = el.get("name")
    if sheet is None:
        raise damaged(name)
    ids = [(k, v) for k, v in el.attrib.items() if _local(k) == "id"]
    if len(ids) != 1 or ids[0][0] not in {f"{{{ns}}}id" for ns in _REL_NS}:
        raise _sheet_refused(name, sheet, "的关系编号缺失或有多个，不同程序会读取不同的部件",
                             "has no relationship id, or several, so programs would read different parts")
    rel = by_id.get(ids[0][1])
    if rel is None or rel[3]:
        raise _sheet_refused(name, sheet, f"引用的关系“{ids[0][1]}”不存在或指向工作簿之外",
                             f"refers to a relationship '{ids[0][1]}' that is missing or points outside the workbook")
    kind = rel[1].rsplit("/", 1)[-1]
    if kind not in _SHEET_KINDS:
        raise _sheet_refused(name, sheet, f"的类型“{kind}”不是工作表", f"is of type '{kind}', not a worksheet")
    member = _resolve("xl/", rel[2])
    if member is None or member not in members:
        near = member and next((m for m in members if m.lower() == member.lower()), None)
        where = f"“{rel[2]}”" if not near else f"“{rel[2]}”（压缩包中只有大小写不同的“{near}”）"
        where_en = f"'{rel[2]}'" if not near else f"'{rel[2]}' (the archive holds '{near}', differing in case)"
        raise _sheet_refused(name, sheet, f"的部件 {where} 不存在或路径写法各程序解析不同",
                             f"is stored in part {where_en}, which is missing or which programs resolve differently")
    return SheetPart(sheet, member, kind, el.get("state") or "visible")


def _check_sheets(name: str, view: WorkbookView, members: set[str]) -> None:
    seen: dict[str, str] = {}
    parts: dict[str, str] = {}
    for sheet in view.sheets:
        if sheet.name.lower() in seen:
            raise _sheet_refused(name, sheet.name, f"与工作表“{seen[sheet.name.lower()]}”重名",
                                 f"has the same name as sheet '{seen[sheet.name.lower()]}'")
        seen[sheet.name.lower()] = sheet.name
        if sheet.member in parts:
            raise _sheet_refused(name, sheet.name, f"与工作表“{parts[sheet.member]}”共用部件“{sheet.member}”",
                                 f"shares part '{sheet.member}' with sheet '{parts[sheet.member]}'")
        parts[sheet.member] = sheet.name
    for member in sorted(members):
        if member.startswith(_SHEET_FOLDERS) and member.endswith(".xml") and "/_rels/" not in member \
                and member not in parts:
            raise LedgerError(
                f"工作簿“{name}”含有不属于任何工作表的工作表部件“{member}”（Excel 不显示它，有的程序却会读取它），已拒绝读取。",
                f"Workbook '{name}' holds a worksheet part '{member}' that no sheet of the workbook refers to "
                "(Excel does not show it, some programs would read it); refused.")


def _check_named_part(name: str, rels, member: str, members: set[str]) -> None:
    """calamine reads the shared strings and the styles from their usual names whatever the
    relationships say; Excel and openpyxl follow the relationship. They must be the same part."""
    targets = [_resolve("xl/", r[2]) for r in rels if not r[3]]
    if (targets and targets != [member]) or (not targets and member in members):
        kind = posixpath.basename(member)
        raise _unusual(name, "xl/_rels/workbook.xml.rels", f"没有唯一指向“{member}”的 {kind} 关系，不同程序会读取不同的部件",
                       f"does not point its {kind} relationship at '{member}' alone, so programs would read "
                       "different parts")


def _resolve(base: str, target: str) -> str | None:
    """The member a relationship target names, where calamine (which takes it as written),
    openpyxl (which normalises it) and Excel agree; None where they might not."""
    if not target or any(c in target for c in "\\%?#") or target.startswith("//"):
        return None
    path = target[1:] if target.startswith("/") else base + target
    if any(seg in {"", ".", ".."} for seg in path.split("/")):
        return None
    return path


def _relationships(tree):
    """(Id, Type, Target, external) of every Relationship."""
    for rel in tree.iter():
        if _local(rel.tag) == "Relationship":
            yield (rel.get("Id") or "", rel.get("Type") or "", rel.get("Target") or "",
                   rel.get("TargetMode") == "External")


def _tree(zf, name: str, member: str, members):
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if member not in members:
        raise LedgerError(f"文件“{name}”不是 xlsx 工作簿：缺少“{member}”。",
                          f"'{name}' is not an xlsx workbook: it has no '{member}'.")
    if zf.getinfo(member).file_size > _MAX_TREE_BYTES:
        raise LedgerError(f"工作簿“{name}”的“{member}”大于 {size_text(_MAX_TREE_BYTES)}，不像 Excel 写出的文件，已拒绝读取。",
                          f"'{member}' in workbook '{name}' is larger than {size_text(_MAX_TREE_BYTES)}, which no "
                          "spreadsheet program writes; refused.")
    try:
        return fromstring(zf.read(member), forbid_dtd=True)
    except DefusedXmlException:
        raise entities(name, member) from None
    except ParseError:
        raise damaged(name) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _unusual(name: str, member: str, zh: str, en: str) -> LedgerError:
    return LedgerError(f"工作簿“{name}”的“{member}”{zh}，已拒绝读取。", f"'{member}' in workbook '{name}' {en}; refused.")


def _sheet_refused(name: str, sheet: str, zh: str, en: str) -> LedgerError:
    return LedgerError(f"工作簿“{name}”的工作表“{sheet}”{zh}，已拒绝读取。",
                       f"Sheet '{sheet}' of workbook '{name}' {en}; refused.")
