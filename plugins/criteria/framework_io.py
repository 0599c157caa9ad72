"""Criteria framework as CSV: validation on import, export, and the framework's content hash.

CSV format (UTF-8, with or without BOM, comma separated, one header line). Required columns:
``code``, ``category``, ``category_name``, ``points``, ``title`` (the columns of
``shared/data/criteria.csv``). Optional columns: ``category_points``, ``description``,
``legal_basis``, ``legal_basis_url``, ``applies_to`` (``all`` or tenant slugs separated by
``;``), ``scoring_type`` (``binary``, ``scale`` = 0-1-2, ``percentage``; default ``scale``),
``periodicity``, ``deadline_days``, ``evidence_required`` (yes/no), ``verification_guide``,
``source``. :func:`export_csv` writes every column, so an export imports back to the same
content hash.

Rules (every problem is reported with its line and column; nothing is stored when any fails):
unique criterion codes; every category has a name (on one of its rows, or in the previous
version of the framework); one name per category; points are positive numbers with at most two
decimals; the points of all criteria add up to :data:`TOTAL_POINTS` and, when
``category_points`` is given, each category's criteria add up to it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping
from urllib.parse import urlparse

import rfc8785
from flask_babel import lazy_gettext as _l

from comun_cms.toolkit import jsonable, neutralize_formula, restore_formula

from .models import PERIODICITIES, SCORING_TYPES, CriteriaFramework, Criterion, FrameworkCategory

REQUIRED_COLUMNS = ("code", "category", "category_name", "points", "title")
OPTIONAL_COLUMNS = ("category_points", "description", "legal_basis", "legal_basis_url", "applies_to",
                    "scoring_type", "periodicity", "deadline_days", "evidence_required", "verification_guide",
                    "source")
EXPORT_COLUMNS = ("code", "category", "category_name", "category_points", "points", "title", "description",
                  "legal_basis", "legal_basis_url", "applies_to", "scoring_type", "periodicity", "deadline_days",
                  "evidence_required", "verification_guide", "source")
#: A framework's points must add up to this.
TOTAL_POINTS = Decimal(100)
MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")
CATEGORY_RE = re.compile(r"^[A-Za-z0-9]{1,10}$")
YES = {"yes", "y", "sí", "si", "s", "true", "1", "x"}
NO = {"no", "n", "false", "0"}
CONTENT_FORMAT = "comun-criteria-framework/1"


@dataclass(frozen=True)
class ImportIssue:
    """One problem in an imported file: ``line`` (1 = header; ``None`` for the file as a whole),
    ``last_line`` (end of a range), ``column`` (header name or ``""``) and ``message``."""

    line: int | None
    column: str
    message: Any
    last_line: int | None = None

    def __str__(self) -> str:
        if self.line is not None and self.last_line is not None and self.last_line != self.line:
            where = _l("Lines %(first)d–%(last)d", first=self.line, last=self.last_line)
        elif self.line is not None:
            where = _l("Line %(line)d", line=self.line)
        else:
            where = _l("File")
        if self.column:
            where = _l("%(where)s, column “%(column)s”", where=where, column=self.column)
        return str(_l("%(where)s: %(message)s", where=where, message=self.message))


class FrameworkImportError(ValueError):
    """The file is not a valid framework. ``issues`` lists every problem found (line, column,
    message); ``str(error)`` joins them, one per line."""

    def __init__(self, issues: list[ImportIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


@dataclass
class ParsedCategory:
    """A category read from the file: code, name, points (hundredths), position, first line."""

    code: str
    name: str
    points_x100: int
    position: int
    line: int
    declared_x100: int | None = None


@dataclass
class ParsedCriterion:
    """A criterion read from the file (values validated and normalized)."""

    code: str
    category: str
    title: str
    points_x100: int
    line: int
    position: int
    description: str = ""
    legal_basis: str = ""
    legal_basis_url: str = ""
    applies_to: str = "all"
    scoring_type: str = "scale"
    periodicity: str = "permanent"
    deadline_days: int | None = None
    evidence_required: bool = True
    verification_guide: str = ""
    source: str = ""


@dataclass
class ParsedFramework:
    """A validated framework file: categories (in order of first appearance) and criteria."""

    categories: list[ParsedCategory] = field(default_factory=list)
    criteria: list[ParsedCriterion] = field(default_factory=list)

    @property
    def total_x100(self) -> int:
        return sum(c.points_x100 for c in self.criteria)


def format_points(x100: int) -> str:
    """Points in hundredths as text without trailing zeros: ``200`` -> ``"2"``, ``250`` -> ``"2.5"``."""
    whole, cents = divmod(int(x100), 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")


def _parse_points(text: str) -> int:
    """``"2"``/``"2.5"``/``"2,5"`` -> hundredths; raises ``ValueError`` with a message."""
    try:
        value = Decimal(text.replace(",", ".").strip())
    except InvalidOperation:
        raise ValueError(_l("“%(value)s” is not a number", value=text)) from None
    if not value.is_finite():
        raise ValueError(_l("“%(value)s” is not a number", value=text))
    if value <= 0 or value > TOTAL_POINTS:
        raise ValueError(_l("the points must be greater than 0 and at most %(max)s, not %(value)s",
                            max=format_points(int(TOTAL_POINTS * 100)), value=text))
    hundredths = value * 100
    if hundredths != hundredths.to_integral_value():
        raise ValueError(_l("use at most two decimals (“%(value)s”)", value=text))
    return int(hundredths)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if len(data) > MAX_BYTES:
        raise FrameworkImportError([ImportIssue(None, "", _l("the file is larger than 1 MB"))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FrameworkImportError([ImportIssue(None, "", _l(
            "the file is not UTF-8 text (byte %(pos)d); save it as “CSV UTF-8” and try again", pos=exc.start + 1))]) from None


def parse_csv(data: bytes | str, *, tenant_slugs: Iterable[str] | None = None,
              known_categories: Mapping[str, str] | None = None) -> ParsedFramework:
    """Read and validate a framework CSV.

    Args:
        data: the file's bytes (UTF-8) or text.
        tenant_slugs: tenants that ``applies_to`` may name (``None``: not checked).
        known_categories: ``{code: name}`` of the previous version of the framework; a row may
            leave ``category_name`` empty for these categories.

    Returns:
        The :class:`ParsedFramework`.

    Raises:
        FrameworkImportError: with every problem found (line and column named).
    """
    text = _decode(data)
    issues: list[ImportIssue] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FrameworkImportError([ImportIssue(None, "", _l("the file is empty"))]) from None
    except csv.Error as exc:
        raise FrameworkImportError([ImportIssue(1, "", _l("the header cannot be read: %(error)s", error=str(exc)))]) from None
    columns = [h.strip().lower() for h in header]
    allowed = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    seen_columns: set[str] = set()
    for name in columns:
        if name not in allowed:
            issues.append(ImportIssue(1, name, _l("unknown column (allowed: %(allowed)s)",
                                                  allowed=", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS))))
        elif name in seen_columns:
            issues.append(ImportIssue(1, name, _l("the column appears twice")))
        seen_columns.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            issues.append(ImportIssue(1, name, _l("required column missing")))
    if issues:
        raise FrameworkImportError(issues)

    known_tenants = set(tenant_slugs) if tenant_slugs is not None else None
    known = dict(known_categories or {})
    parsed = ParsedFramework()
    categories: dict[str, ParsedCategory] = {}
    name_lines: dict[str, int] = {}
    codes: dict[str, int] = {}
    first_line = last_line = None
    row_count = 0
    while True:
        start = reader.line_num + 1
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            issues.append(ImportIssue(start, "", _l("the line cannot be read: %(error)s", error=str(exc))))
            break
        if not any(cell.strip() for cell in raw):
            continue
        row_count += 1
        if row_count > MAX_ROWS:
            issues.append(ImportIssue(start, "", _l("too many rows (at most %(max)d criteria)", max=MAX_ROWS)))
            break
        first_line = first_line or start
        last_line = start
        if len(raw) != len(columns):
            issues.append(ImportIssue(start, "", _l("the line has %(n)d fields but the header has %(m)d",
                                                    n=len(raw), m=len(columns))))
            continue
        row = {name: restore_formula(cell).strip() for name, cell in zip(columns, raw)}
        issues.extend(_check_row(row, start, len(parsed.criteria), parsed, categories, name_lines, codes, known,
                                 known_tenants))
    if row_count == 0 and not issues:
        issues.append(ImportIssue(None, "", _l("the file has a header but no criteria")))
    for cat in categories.values():
        if not cat.name:
            issues.append(ImportIssue(cat.line, "category", _l(
                "unknown category “%(code)s”: no row gives its name in column “category_name” "
                "and the previous version of the framework has no such category", code=cat.code)))
    if not issues:
        total = parsed.total_x100
        if Decimal(total) / 100 != TOTAL_POINTS:
            issues.append(ImportIssue(first_line, "points", _l(
                "the points of all criteria add up to %(total)s, but a framework must add up to %(expected)s",
                total=format_points(total), expected=format_points(int(TOTAL_POINTS * 100))), last_line=last_line))
        for cat in categories.values():
            if cat.declared_x100 is not None and cat.declared_x100 != cat.points_x100:
                issues.append(ImportIssue(cat.line, "category_points", _l(
                    "category “%(code)s” declares %(declared)s points but its criteria add up to %(total)s",
                    code=cat.code, declared=format_points(cat.declared_x100), total=format_points(cat.points_x100))))
    if issues:
        raise FrameworkImportError(issues)
    parsed.categories = list(categories.values())
    return parsed


def _check_row(row: dict[str, str], line: int, position: int, parsed: ParsedFramework,
               categories: dict[str, ParsedCategory], name_lines: dict[str, int], codes: dict[str, int],
               known: dict[str, str], known_tenants: set[str] | None) -> list[ImportIssue]:
    """Validate one data row; on success append it to ``parsed`` and update ``categories``."""
    issues: list[ImportIssue] = []

    def bad(column: str, message) -> None:
        issues.append(ImportIssue(line, column, message))

    code = row["code"]
    if not code:
        bad("code", _l("the criterion code is empty"))
    elif not CODE_RE.match(code):
        bad("code", _l("“%(code)s” is not a valid code (letters, digits, “-”, “.”, “_”; at most 20 characters)", code=code))
    elif code in codes:
        bad("code", _l("duplicate code “%(code)s” (already used on line %(first)d)", code=code, first=codes[code]))
    else:
        codes[code] = line

    category = row["category"]
    category_name = row["category_name"]
    if not category:
        bad("category", _l("the category is empty"))
    elif not CATEGORY_RE.match(category):
        bad("category", _l("“%(category)s” is not a valid category code (letters and digits, at most 10)", category=category))
    else:
        existing = categories.get(category)
        if category_name:
            if len(category_name) > 200:
                bad("category_name", _l("the category name is longer than 200 characters"))
            elif existing is not None and category in name_lines and existing.name != category_name:
                bad("category_name", _l("category “%(code)s” is called “%(name)s” here but “%(other)s” on line %(first)d",
                                        code=category, name=category_name, other=existing.name,
                                        first=name_lines[category]))

    try:
        points = _parse_points(row["points"]) if row["points"] else None
        if points is None:
            bad("points", _l("the points are empty"))
    except ValueError as exc:
        points = None
        bad("points", exc.args[0])

    title = row["title"]
    if not title:
        bad("title", _l("the title is empty"))
    elif len(title) > 2000:
        bad("title", _l("the title is longer than 2000 characters"))

    declared = None
    if row.get("category_points"):
        try:
            declared = _parse_points(row["category_points"])
        except ValueError as exc:
            bad("category_points", exc.args[0])

    scoring_type = (row.get("scoring_type") or "scale").lower()
    if scoring_type not in SCORING_TYPES:
        bad("scoring_type", _l("“%(value)s” is not a scoring type (use: %(allowed)s)", value=row.get("scoring_type"),
                               allowed=", ".join(SCORING_TYPES)))
    periodicity = (row.get("periodicity") or "permanent").lower()
    if periodicity not in PERIODICITIES:
        bad("periodicity", _l("“%(value)s” is not a periodicity (use: %(allowed)s)", value=row.get("periodicity"),
                              allowed=", ".join(PERIODICITIES)))
    deadline = None
    if row.get("deadline_days"):
        try:
            deadline = int(row["deadline_days"])
            if not 0 <= deadline <= 3650:
                raise ValueError
        except ValueError:
            bad("deadline_days", _l("“%(value)s” is not a number of days between 0 and 3650", value=row["deadline_days"]))
    evidence_text = (row.get("evidence_required") or "yes").lower()
    if evidence_text in YES:
        evidence = True
    elif evidence_text in NO:
        evidence = False
    else:
        evidence = True
        bad("evidence_required", _l("“%(value)s” is not yes or no", value=row.get("evidence_required")))
    url = row.get("legal_basis_url") or ""
    if url:
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            bad("legal_basis_url", _l("“%(value)s” is not a web address starting with https:// or http://", value=url))
    applies = (row.get("applies_to") or "all").strip()
    if applies.lower() == "all":
        applies = "all"
    else:
        slugs = [s.strip() for s in re.split(r"[;\s]+", applies) if s.strip()]
        unknown = [s for s in slugs if known_tenants is not None and s not in known_tenants]
        if unknown or not slugs:
            bad("applies_to", _l("“%(value)s” is not “all” or a list of known states separated by “;” (%(known)s)",
                                 value=applies, known=", ".join(sorted(known_tenants or []))))
        applies = ";".join(slugs)

    if category and CATEGORY_RE.match(category) and not any(i.column in ("category", "category_name") for i in issues):
        cat = categories.get(category)
        if cat is None:
            cat = categories[category] = ParsedCategory(category, known.get(category, ""), 0, len(categories), line)
        if category_name and category not in name_lines:
            name_lines[category] = line
            cat.name = category_name
    if issues:
        return issues
    cat = categories[category]
    if declared is not None:
        if cat.declared_x100 is not None and cat.declared_x100 != declared:
            return [ImportIssue(line, "category_points", _l(
                "category “%(code)s” declares %(value)s points here but %(other)s on an earlier line",
                code=category, value=format_points(declared), other=format_points(cat.declared_x100)))]
        cat.declared_x100 = declared
    cat.points_x100 += points
    parsed.criteria.append(ParsedCriterion(
        code=code, category=category, title=title, points_x100=points, line=line, position=position,
        description=row.get("description", ""), legal_basis=row.get("legal_basis", ""), legal_basis_url=url,
        applies_to=applies, scoring_type=scoring_type, periodicity=periodicity, deadline_days=deadline,
        evidence_required=evidence, verification_guide=row.get("verification_guide", ""), source=row.get("source", "")))
    return []


def build_framework(parsed: ParsedFramework, *, slug: str, version_label: str, name: str, description: str = "",
                    valid_from=None, source: str = "", is_demo: bool = False,
                    imported_by_id: int | None = None) -> CriteriaFramework:
    """Make a draft :class:`CriteriaFramework` (with categories and criteria) from a parsed file
    and compute its ``content_sha256``. The caller adds it to the session and commits."""
    fw = CriteriaFramework(slug=slug, version_label=version_label, name=name, description=description,
                           valid_from=valid_from, source=source, is_demo=is_demo, imported_by_id=imported_by_id)
    cats: dict[str, FrameworkCategory] = {}
    for pc in parsed.categories:
        cat = FrameworkCategory(code=pc.code, name=pc.name, points_x100=pc.points_x100, position=pc.position)
        fw.categories.append(cat)
        cats[pc.code] = cat
    for pc in parsed.criteria:
        fw.criteria.append(Criterion(
            code=pc.code, category=cats[pc.category], position=pc.position, title=pc.title,
            description=pc.description, legal_basis=pc.legal_basis, legal_basis_url=pc.legal_basis_url,
            applies_to=pc.applies_to, scoring_type=pc.scoring_type, points_x100=pc.points_x100,
            periodicity=pc.periodicity, deadline_days=pc.deadline_days, evidence_required=pc.evidence_required,
            verification_guide=pc.verification_guide, source=pc.source))
    fw.content_sha256 = content_sha256(fw)
    return fw


def criterion_content(c: Criterion) -> dict:
    """Public content of one criterion (canonical JSON, datasets, export)."""
    return {"code": c.code, "category": c.category.code, "title": c.title, "description": c.description,
            "legal_basis": c.legal_basis, "legal_basis_url": c.legal_basis_url,
            "legal_basis_unverified": c.unverified, "applies_to": c.applies_to, "scoring_type": c.scoring_type,
            "points": format_points(c.points_x100), "periodicity": c.periodicity, "deadline_days": c.deadline_days,
            "evidence_required": c.evidence_required, "verification_guide": c.verification_guide, "source": c.source}


def framework_content(fw: CriteriaFramework) -> dict:
    """The tenant-independent content of a framework version: metadata, categories with points,
    criteria. Its canonical JSON hash is :attr:`CriteriaFramework.content_sha256`."""
    return {
        "format": CONTENT_FORMAT, "slug": fw.slug, "version_label": fw.version_label, "name": fw.name,
        "description": fw.description, "valid_from": fw.valid_from, "source": fw.source,
        "total_points": format_points(sum(c.points_x100 for c in fw.criteria)),
        "categories": [{"code": c.code, "name": c.name, "points": format_points(c.points_x100)}
                       for c in sorted(fw.categories, key=lambda c: c.position)],
        "criteria": [criterion_content(c) for c in sorted(fw.criteria, key=lambda c: c.position)],
    }


def content_sha256(fw: CriteriaFramework) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of :func:`framework_content`."""
    return hashlib.sha256(rfc8785.dumps(jsonable(framework_content(fw)))).hexdigest()


def export_csv(fw: CriteriaFramework) -> str:
    """The framework as CSV text with every column of :data:`EXPORT_COLUMNS` (importable again).
    Cells pass through ``neutralize_formula`` (the importer restores them: the round trip is exact)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in sorted(fw.criteria, key=lambda c: c.position):
        writer.writerow([neutralize_formula(v) for v in (
            c.code, c.category.code, c.category.name, format_points(c.category.points_x100),
            format_points(c.points_x100), c.title, c.description, c.legal_basis, c.legal_basis_url,
            c.applies_to, c.scoring_type, c.periodicity, "" if c.deadline_days is None else c.deadline_days,
            "yes" if c.evidence_required else "no", c.verification_guide, c.source)])
    return buf.getvalue()
