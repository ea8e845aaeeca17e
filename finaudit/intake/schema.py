"""The ledger's declared schemas (schemas/*.yaml) and what is derived from them.

The YAML files are the single declaration of every sheet and column; the pandera
schemas, the header aliases, the blank template and the docs all come from here.
"""
from __future__ import annotations

import difflib
import functools
import unicodedata
from dataclasses import dataclass, field

import yaml

from finaudit.resources import schemas_dir

# libyaml's loader parses our schema files about six times faster than the pure-Python
# one and builds the same objects; PyYAML built without libyaml has only the latter.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SHEET_ORDER = ("budget", "enrollment", "surcharge", "salaries", "reference", "fiscal", "indicators")
NUMERIC_TYPES = ("year", "money", "count", "number")
YEAR_RANGE = (1949, 2100)


# The largest amount, in yuan, the audit accepts: 10 万亿元, more than the country's whole
# yearly education spending (about 6.5 万亿元), so a larger cell is a slip, reported where it
# is. Below it every amount is exact to the fen: amounts travel as float64 until DuckDB sums
# them as DECIMAL(38, 4), and under 2^46 (7.0e13) neighbouring doubles are less than 0.008
# yuan apart, so two amounts a fen apart never become one number and the written fen is what
# rounding to 4 decimals gives back. At 10^15 and beyond (16+ digits) a 0.01 yuan decrease
# would vanish in the read: refused, never silently equal.
MONEY_LIMIT = 1e13  # a column may raise it (limit_yuan): the nation's GDP and revenue


@dataclass(frozen=True)
class Column:
    name: str
    # year | region_code | text | enum | money | count | number (a figure in its own unit,
    # such as a rate in percent: never scaled by a 万元 header, never summed)
    type: str
    required: bool
    aliases: tuple[str, ...]
    description: dict
    enum: str | None = None
    min: float | None = None
    max: float | None = None
    default: str | None = None
    # Absent from a sheet, the column takes its default and the reader is told once
    # (DEFAULT_NOTICE): a default that decides what is audited (公办) is never silent.
    default_notice: bool = False
    # The largest amount in yuan a money column holds (checks.MONEY_LIMIT: exact to the fen).
    # A fiscal aggregate of the nation (GDP, revenue: 10^14 yuan) is read to a few fen.
    limit_yuan: float = MONEY_LIMIT

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class SheetSchema:
    name: str
    title: dict
    aliases: tuple[str, ...]
    required: bool
    description: dict
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)
    measure_column: str | None = None     # the cell a finding points at in a row of this sheet
    # The column a table with its years across the columns holds under each year (wide.py);
    # None: such a table is refused, what its figures are being a guess.
    wide_value: str | None = None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def display_name(self, lang: str) -> str:
        return self.title[lang]


def fold(text: str) -> str:
    """The form in which names are compared: full-width folded, no spaces, lower case."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower()


@functools.lru_cache(maxsize=None)
def enums() -> dict[str, dict[str, dict]]:
    """Every enumeration: {enum name: {code: {zh, en, aliases}}}."""
    with open(schemas_dir() / "enums.yaml", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_YAML_LOADER)


@functools.lru_cache(maxsize=None)
def enum_lookup(enum_name: str) -> dict[str, str]:
    """Maps every accepted spelling (folded) of an enumeration to its code."""
    lookup: dict[str, str] = {}
    for code, spec in enums()[enum_name].items():
        for spelling in (code, spec["zh"], spec["en"], *spec.get("aliases", [])):
            lookup[fold(spelling)] = code
    return lookup


@functools.lru_cache(maxsize=4096)
def suggest(enum_name: str, value: str) -> str | None:
    """The code a refused value most likely means, to ask "是否为……？", never to accept it:
    a spelling the enumeration lists under `suggest_for` (a word too broad to map, such as
    财政拨款), else the longest accepted spelling the value contains or is contained in
    (小学教育 -> 小学), else the closest one by edit similarity. None when nothing is close.
    A code is never suggested for a spelling it lists under `not_for` (基本支出 is not 基本建设)."""
    folded = fold(value)
    if not folded:
        return None
    for code, spec in enums()[enum_name].items():
        if folded in {fold(s) for s in spec.get("suggest_for", [])}:
            return code
    barred = {code for code, spec in enums()[enum_name].items() if folded in {fold(s) for s in spec.get("not_for", [])}}
    lookup = {spelling: code for spelling, code in enum_lookup(enum_name).items() if code not in barred}
    inside = [(len(spelling), code) for spelling, code in lookup.items()
              if len(spelling) >= 2 and (spelling in folded or folded in spelling)]
    if inside:
        return max(inside)[1]
    close = difflib.get_close_matches(folded, list(lookup), n=1, cutoff=0.6)
    return lookup[close[0]] if close else None


def enum_label(enum_name: str, code: str | None, lang: str) -> str:
    """The name of a code in the user's language (the code itself when unknown)."""
    if code is None:
        return ""
    spec = enums().get(enum_name, {}).get(code)
    return spec[lang] if spec else str(code)


def _column(spec: dict) -> Column:
    return Column(
        name=spec["name"],
        type=spec["type"],
        required=bool(spec.get("required", False)),
        aliases=tuple(spec.get("aliases", [])),
        description=spec["description"],
        enum=spec.get("enum"),
        min=spec.get("min"),
        max=spec.get("max"),
        default=spec.get("default"),
        default_notice=bool(spec.get("default_notice", False)),
        limit_yuan=float(spec.get("limit_yuan", MONEY_LIMIT)),
    )


@functools.lru_cache(maxsize=None)
def load_schemas() -> dict[str, SheetSchema]:
    """Reads schemas/<sheet>.yaml for every ledger sheet, in the ledger's order."""
    out = {}
    for name in SHEET_ORDER:
        with open(schemas_dir() / f"{name}.yaml", encoding="utf-8") as fh:
            spec = yaml.load(fh, Loader=_YAML_LOADER)
        if spec["sheet"] != name:
            raise ValueError(f"schemas/{name}.yaml declares sheet {spec['sheet']!r}")
        out[name] = SheetSchema(
            name=name,
            title=spec["title"],
            aliases=tuple(spec.get("aliases", [])),
            required=bool(spec.get("required", False)),
            description=spec["description"],
            key=tuple(spec.get("key", [])),
            columns=tuple(_column(c) for c in spec["columns"]),
            measure_column=spec.get("measure_column"),
            wide_value=spec.get("wide_value"),
        )
        wide = out[name].wide_value
        if wide is not None and not (wide in {c.name for c in out[name].columns} and out[name].column(wide).numeric):
            raise ValueError(f"schemas/{name}.yaml: wide_value {wide!r} is not a numeric column of the sheet")
    return out
