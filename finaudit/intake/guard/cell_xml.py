"""How a cell is written in a worksheet's XML, as both the sheet scan and the shared-string
check read it: the cell and row tags (any namespace prefix), their attributes, the value."""
from __future__ import annotations

import re

PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"                     # an optional namespace prefix
TAG_REACH = 4096    # how far a cell's first child (its formula) may be from its `<c`
CELL_TOKEN = re.compile(rb'<(/?)' + PREFIX + rb'(row|c)(?=[\s/>])((?:[^>"\']|"[^"]*"|\'[^\']*\')*)>')
ATTR_R = re.compile(rb'(?:^|\s)r\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
CELL_VALUE = re.compile(rb"<" + PREFIX + rb"v(?=[\s/>])([^>]*)>([^<]*)")


def attribute(pattern: re.Pattern, attrs: bytes) -> bytes | None:
    match = pattern.search(attrs)
    if not match:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)
