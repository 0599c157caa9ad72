"""CSV round trip of a plan's commitments and milestones: export, analyse (preview) and apply.

File format (one plan per file; UTF-8, RFC 4180):

* one row per commitment (``record = commitment``) followed by one row per milestone
  (``record = milestone``); columns :data:`COLUMNS` (only :data:`REQUIRED` must be present, a
  missing optional column leaves its values unchanged);
* **language**: the export writes the headers, record types and statuses in the tenant's language
  (:func:`csv_language`; Spanish: ``registro, plan, compromiso, hito, …``, ``compromiso`` /
  ``hito``, ``por iniciar`` / ``iniciado`` / ``completado`` / ``verificado``; English: the codes
  of :data:`COLUMNS`, ``commitment`` / ``milestone``, ``not_started`` …). The import accepts both
  languages, in headers and values, case, accents and spaces aside (:data:`HEADERS`);
* commitments are matched by ``commitment`` number, milestones by ``commitment`` + ``milestone``
  number: a number the plan does not have **creates** the commitment (as a draft) or the
  milestone; a known one is **updated**. Records absent from the file stay as they are unless the
  import is asked to **remove** them (``remove=True``, confirmed by the user after the preview):
  then a draft commitment absent from the file is deleted, a published one is retracted with the
  reason given, and an absent milestone is removed. Retracted commitments are not exported and
  cannot be imported;
* a commitment with milestones has the status that follows from them
  (:func:`progress.commitment_figures`); its status cell must be left as exported or agree;
* dates ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (Excel in Spanish); numbers with a decimal point or
  comma, optionally followed by ``%``;
* reading accepts UTF-8 with or without BOM and sniffs the delimiter (comma, semicolon as
  written by Excel in Spanish locales, or tab); any other encoding (Latin-1 / Windows-1252,
  UTF-16) is rejected with a message saying how to save the file.

:func:`analyze` validates a whole file against the current database and returns every error
(line, column, message) and every change; :func:`apply` re-analyses and writes all changes or
none (the caller commits).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _, lazy_gettext as _l

from comun_cms.toolkit import Publication, db, neutralize_formula, record_audit, restore_formula, retract, snapshot

from . import progress as prog
from . import services
from .content import commitment_attachments, commitment_label
from .models import OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_REPORT, ActionPlan, Commitment, Milestone

#: Columns written by the export, in order.
COLUMNS: tuple[str, ...] = (
    "record", "plan", "commitment", "milestone", "external_id", "title", "owner", "start_date", "end_date",
    "status", "progress", "progress_reason", "weight", "deliverable", "verification_means", "verified_by",
    "verified_session", "evidence_url", "status_correction",
)
#: Columns every imported file must have.
REQUIRED: tuple[str, ...] = ("record", "commitment", "milestone", "title")
#: Languages of the file (headers, record types and statuses written by the export).
LANGUAGES: tuple[str, ...] = ("es", "en")
#: Header of each column per language (the import accepts both, folded by :func:`_fold`).
HEADERS: dict[str, dict[str, str]] = {
    "en": {c: c for c in COLUMNS},
    "es": {"record": "registro", "plan": "plan", "commitment": "compromiso", "milestone": "hito",
           "external_id": "id_externo", "title": "título", "owner": "responsable", "start_date": "fecha_inicio",
           "end_date": "fecha_fin", "status": "estatus", "progress": "avance",
           "progress_reason": "motivo_avance_manual", "weight": "peso", "deliverable": "entregable",
           "verification_means": "medio_de_verificación", "verified_by": "verificado_por",
           "verified_session": "sesión_de_verificación", "evidence_url": "enlace_evidencia",
           "status_correction": "motivo_corrección_estatus"},
}
#: Record type words per language.
RECORD_NAMES: dict[str, dict[str, str]] = {"en": {"commitment": "commitment", "milestone": "milestone"},
                                           "es": {"commitment": "compromiso", "milestone": "hito"}}
#: Status words per language (source of the Spanish words: shared/GLOSSARY.md).
STATUS_NAMES: dict[str, dict[str, str]] = {
    "en": {s: s for s in prog.STATUSES},
    "es": {"not_started": "por iniciar", "started": "iniciado", "completed": "completado", "verified": "verificado"},
}
#: Largest file accepted (bytes).
MAX_BYTES = 2 * 1024 * 1024
#: Columns that only milestone rows may fill.
MILESTONE_ONLY = ("weight", "deliverable", "verification_means")
#: Columns that only commitment rows may fill.
COMMITMENT_ONLY = ("external_id", "progress_reason", "verified_by", "verified_session")

COLUMN_LABELS = {
    "record": _l("record"), "plan": _l("plan"), "commitment": _l("commitment"), "milestone": _l("milestone"),
    "external_id": _l("external id"), "title": _l("title"), "owner": _l("owner"), "start_date": _l("start date"),
    "end_date": _l("end date"), "status": _l("status"), "progress": _l("progress"),
    "progress_reason": _l("reason for a progress set by hand"), "weight": _l("weight"),
    "deliverable": _l("deliverable"), "verification_means": _l("means of verification"),
    "verified_by": _l("verified by"), "verified_session": _l("verified in STL session"),
    "evidence_url": _l("evidence link"), "status_correction": _l("reason for correcting the status"),
    "progress_manual": _l("progress set by hand"),
}

_RECORD_WORDS = {"commitment": "commitment", "compromiso": "commitment", "milestone": "milestone", "hito": "milestone",
                 "actividad": "milestone"}
_STATUS_WORDS = {
    "not_started": "not_started", "por iniciar": "not_started", "no iniciado": "not_started", "sin iniciar": "not_started",
    "started": "started", "iniciado": "started", "en proceso": "started",
    "completed": "completed", "completado": "completed", "concluido": "completed",
    "verified": "verified", "verificado": "verified",
}


def csv_language(tenant) -> str:
    """The language of a tenant's CSV files: ``"es"`` when its default locale is Spanish
    (``es_MX``), else ``"en"``."""
    return "es" if str(getattr(tenant, "default_locale", "es_MX") or "es_MX").startswith("es") else "en"


def _header_lookup() -> dict[str, str]:
    """Folded header (any language) -> column code."""
    return {_fold(name): code for names in HEADERS.values() for code, name in names.items()}


class ImportRejected(Exception):
    """The file cannot be imported; ``errors`` lists every :class:`RowError`."""

    def __init__(self, errors: list["RowError"]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class RowError:
    """A problem in the file: ``line`` (1-based physical line, 0 for the whole file), ``column``
    (column code, or the unknown header, or ``""``), a translated ``message`` and ``header``: the
    column's name as written in the file (shown; defaults to ``column``)."""

    line: int
    column: str
    message: str
    header: str = ""

    def __str__(self) -> str:
        if self.line and self.column:
            return _("Line %(line)d, column “%(column)s”: %(message)s", line=self.line,
                     column=self.header or self.column, message=self.message)
        if self.line:
            return _("Line %(line)d: %(message)s", line=self.line, message=self.message)
        return self.message


@dataclass
class RecordChange:
    """Changes to one record: ``kind`` (commitment | milestone), ``label``, ``line``, ``action``
    (``create``, ``update`` or ``remove``), ``published`` (its commitment is published, so a new
    version — or, for a removed commitment, a retraction — will be published) and ``fields``:
    ``[(column label, old text, new text)]``."""

    kind: str
    label: str
    line: int
    is_new: bool = False
    published: bool = False
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    action: str = "update"


@dataclass
class Analysis:
    """Result of :func:`analyze`: ``errors``, ``changes``, ``delimiter`` and ``rows`` (data rows
    read); ``needs_reason`` is true when published records would change. After :func:`apply`,
    ``publications`` lists the corrections it published."""

    errors: list[RowError] = field(default_factory=list)
    changes: list[RecordChange] = field(default_factory=list)
    delimiter: str = ","
    rows: int = 0
    remove: bool = False
    #: Labels of existing records absent from the file (kept unless ``remove``).
    absent: list[str] = field(default_factory=list)
    staged: dict = field(default_factory=dict, repr=False)
    publications: list[Publication] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def needs_reason(self) -> bool:
        return any(c.published for c in self.changes)

    def of(self, action: str) -> list[RecordChange]:
        """The changes whose ``action`` is ``create``, ``update`` or ``remove``."""
        return [c for c in self.changes if c.action == action]


# --------------------------------------------------------------------------- export
def _fmt_number(value: float | None) -> str:
    if value is None:
        return ""
    value = round(float(value), 2)
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0")


def export_rows(plan: ActionPlan) -> list[dict[str, str]]:
    """Rows of the export of ``plan`` (column code -> text, codes for record types and
    statuses): each commitment then its milestones (drafts included, retracted commitments left
    out; this is the admin's working copy). A commitment's status and progress are its
    :meth:`~plugins.action_plans.models.Commitment.figures`."""
    rows = []
    for c in plan.commitments:
        if c.status == "retracted":
            continue
        f = c.figures()
        rows.append({
            "record": "commitment", "plan": str(plan.number), "commitment": str(c.number), "milestone": "",
            "external_id": c.external_id, "title": c.title, "owner": c.owner_institution,
            "start_date": c.start_date.isoformat() if c.start_date else "",
            "end_date": c.end_date.isoformat() if c.end_date else "", "status": f.status,
            "progress": _fmt_number(f.progress), "progress_reason": c.progress_reason if c.progress_manual else "",
            "weight": "", "deliverable": "", "verification_means": "", "verified_by": c.verified_by,
            "verified_session": c.verified_session, "evidence_url": c.verification_url, "status_correction": "",
        })
        for m in c.milestones:
            rows.append({
                "record": "milestone", "plan": str(plan.number), "commitment": str(c.number), "milestone": str(m.number),
                "external_id": "", "title": m.description, "owner": m.owner,
                "start_date": m.start_date.isoformat() if m.start_date else "",
                "end_date": m.end_date.isoformat() if m.end_date else "", "status": m.progress_status,
                "progress": _fmt_number(prog.milestone_progress(m.progress_status, m.progress)), "progress_reason": "",
                "weight": _fmt_number(m.weight), "deliverable": m.deliverable, "verification_means": m.verification_means,
                "verified_by": "", "verified_session": "", "evidence_url": m.evidence_url, "status_correction": "",
            })
    return rows


def _write_row(writer, cells: list[str]) -> None:
    """Write one row of cells: the single place where the CSV export writes cells. Each cell passes
    through ``neutralize_formula`` (OWASP CSV injection); :func:`read_rows` restores them, so a
    round trip is exact."""
    writer.writerow([neutralize_formula(c) for c in cells])


def export_csv(plan: ActionPlan, delimiter: str = ",", language: str = "es") -> str:
    """The plan's CSV text: UTF-8 BOM (so Excel reads accents), header, CRLF line ends.

    Args:
        plan: the plan.
        delimiter: ``","`` or ``";"`` (Excel in Spanish locales).
        language: ``"es"`` (Spanish headers, ``compromiso``/``hito``, ``por iniciar``…) or
            ``"en"`` (the codes of :data:`COLUMNS`, ``commitment``/``milestone``,
            ``not_started``…); see :func:`csv_language`.

    Raises:
        ValueError: an unknown language.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown CSV language {language!r}; use one of {', '.join(LANGUAGES)}")
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    _write_row(writer, [HEADERS[language][c] for c in COLUMNS])
    for row in export_rows(plan):
        row = {**row, "record": RECORD_NAMES[language][row["record"]],
               "status": STATUS_NAMES[language].get(row["status"], row["status"])}
        _write_row(writer, [row[c] for c in COLUMNS])
    return buf.getvalue()


# --------------------------------------------------------------------------- reading
def decode(data: bytes) -> str:
    """Decode an uploaded CSV: UTF-8 with or without BOM.

    Raises:
        ImportRejected: empty, too large, UTF-16, or bytes that are not UTF-8 (the message names
            the line and the byte and says how to save the file as CSV UTF-8).
    """
    if not data:
        raise ImportRejected([RowError(0, "", _("The file is empty."))])
    if len(data) > MAX_BYTES:
        raise ImportRejected([RowError(0, "", _("The file is larger than %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)))])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRejected([RowError(0, "", _(
            "The file is UTF-16 text (Excel's “Unicode text”). Save it as “CSV UTF-8 (comma delimited)” and upload it again."))])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportRejected([RowError(line, "", _(
            "The file is not UTF-8 text: byte 0x%(byte)02X cannot be read (it looks like Latin-1 or Windows-1252, "
            "as Excel writes “CSV (comma delimited)”). Save it as “CSV UTF-8 (comma delimited)” and upload it again.",
            byte=data[exc.start]))]) from None
    if "\x00" in text:
        raise ImportRejected([RowError(0, "", _("The file contains NUL characters; it is not a CSV text file."))])
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter of ``text``: whichever of ``,``, ``;`` and tab occurs most often in the
    header line (comma when none does)."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _fold(value: str) -> str:
    value = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", value.strip().lower().replace("_", " ")).replace(" ", "_")


def parse_date(value: str) -> dt.date | None:
    """``YYYY-MM-DD``, ``DD/MM/YYYY`` or ``DD/MM/YY`` (20YY) -> date; ``""`` -> ``None``.

    Raises:
        ValueError: with a translated message.
    """
    value = (value or "").strip()
    if not value:
        return None
    try:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})", value)
        if m:
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return dt.date(year, int(m[2]), int(m[1]))
    except ValueError:
        pass
    raise ValueError(_("“%(value)s” is not a valid date; write it as YYYY-MM-DD (2022-01-20) or DD/MM/YYYY (20/01/2022).",
                       value=value))


def parse_number(value: str, low: float = 0.0, high: float = 100.0) -> float | None:
    """A number between ``low`` and ``high`` (decimal point or comma, optional ``%``);
    ``""`` -> ``None``.

    Raises:
        ValueError: with a translated message.
    """
    value = (value or "").strip().rstrip("%").strip().replace("\u00a0", "").replace(" ", "")
    if not value:
        return None
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(_("“%(value)s” is not a number.", value=value)) from None
    if number != number or not low <= number <= high:
        raise ValueError(_("%(value)s is not between %(low)s and %(high)s.", value=_fmt_number(number) if number == number else value,
                           low=_fmt_number(low), high=_fmt_number(high)))
    return round(number, 2)


def parse_int(value: str) -> int | None:
    """A positive whole number; ``""`` -> ``None``. Raises ``ValueError`` (translated)."""
    value = (value or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.0+)?", value) and int(float(value)) > 0:
        return int(float(value))
    raise ValueError(_("“%(value)s” is not a whole number greater than 0.", value=value))


def parse_status(value: str, allowed: tuple[str, ...]) -> str:
    """A status code from a code or Spanish word (:data:`STATUS_NAMES`, and a few synonyms);
    ``""`` -> ``""``. Raises ``ValueError`` naming the allowed values in both languages."""
    folded = _fold(value).replace("_", " ")
    if not folded:
        return ""
    code = _STATUS_WORDS.get(folded) or _STATUS_WORDS.get(folded.replace(" ", "_"))
    if code is None or code not in allowed:
        raise ValueError(_("“%(value)s” is not a status; use one of: %(allowed)s.", value=value.strip(),
                           allowed=", ".join(f"{STATUS_NAMES['es'][s]} / {s}" for s in allowed)))
    return code


def read_rows(text: str) -> tuple[str, list[str], list[tuple[int, dict[str, str]]], list[RowError], dict[str, str]]:
    """Split CSV text into rows.

    Headers are recognised in either language (:data:`HEADERS`), case, accents, spaces and
    underscores aside.

    Returns ``(delimiter, header, [(line, {column code: value})], errors, shown)``: ``header``
    lists the column codes in file order (``""`` for an unknown or empty header), ``shown`` maps
    every column code to its name as written in the file (or, when absent, in the file's
    language). Blank rows are skipped; header problems (missing required or unknown columns,
    duplicates) are errors.
    """
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    errors: list[RowError] = []
    try:
        header_row = next(reader)
    except StopIteration:
        return delimiter, [], [], [RowError(0, "", _("The file has no header line."))], dict(HEADERS["es"])
    except csv.Error as exc:
        return delimiter, [], [], [RowError(1, "", _("The header line cannot be read: %(error)s", error=str(exc)))], \
            dict(HEADERS["es"])
    written = [h.strip().lstrip("\ufeff").strip() for h in header_row]
    lookup = _header_lookup()
    english = {_fold(n) for n in HEADERS["en"].values()}
    spanish_only = {_fold(n) for n in HEADERS["es"].values()} - english
    lang = "es" if any(_fold(h) in spanish_only for h in written) or not any(_fold(h) in english for h in written) else "en"
    shown = dict(HEADERS[lang])
    header: list[str] = []
    seen = set()
    for name in written:
        code = lookup.get(_fold(name), "") if name else ""
        header.append(code)
        if not name:
            continue
        if not code:
            errors.append(RowError(1, name, _("unknown column; the columns are: %(columns)s.",
                                              columns=", ".join(HEADERS[lang][c] for c in COLUMNS))))
        elif code in seen:
            errors.append(RowError(1, code, _("the column appears twice."), name))
        else:
            shown[code] = name
        seen.add(code)
    for code in REQUIRED:
        if code not in seen:
            errors.append(RowError(1, code, _("required column missing (delimiter read: “%(d)s”).",
                                              d={"\t": "tab"}.get(delimiter, delimiter)), shown[code]))
    rows = []
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, "", _("the line cannot be read: %(error)s", error=str(exc))))
            break
        last_line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            errors.append(RowError(start, "", _("the line has %(n)d values but the header has %(m)d columns.",
                                                n=len(cells), m=len(header))))
            continue
        row = {name: restore_formula(cells[i] if i < len(cells) else "").strip() for i, name in enumerate(header) if name}
        rows.append((start, row))
    return delimiter, header, rows, errors, shown


# --------------------------------------------------------------------------- analysis
_COMMITMENT_FIELDS = ("title", "external_id", "owner_institution", "start_date", "end_date", "progress_status",
                      "progress", "progress_manual", "progress_reason", "verified_by", "verified_session",
                      "verification_url")
_MILESTONE_FIELDS = ("description", "owner", "start_date", "end_date", "progress_status", "progress", "weight",
                     "deliverable", "verification_means", "evidence_url")
#: column -> (commitment field, milestone field)
_COLUMN_FIELDS = {
    "title": ("title", "description"), "owner": ("owner_institution", "owner"), "start_date": ("start_date", "start_date"),
    "end_date": ("end_date", "end_date"), "evidence_url": ("verification_url", "evidence_url"),
    "external_id": ("external_id", None), "verified_by": ("verified_by", None),
    "verified_session": ("verified_session", None), "weight": (None, "weight"), "deliverable": (None, "deliverable"),
    "verification_means": (None, "verification_means"),
}
_FIELD_COLUMN = {"title": "title", "description": "title", "owner_institution": "owner", "owner": "owner",
                 "start_date": "start_date", "end_date": "end_date", "progress_status": "status", "progress": "progress",
                 "progress_manual": "progress_manual", "progress_reason": "progress_reason",
                 "verified_by": "verified_by", "verified_session": "verified_session",
                 "verification_url": "evidence_url", "evidence_url": "evidence_url", "external_id": "external_id",
                 "weight": "weight", "deliverable": "deliverable", "verification_means": "verification_means"}
_MAX_LEN = {"title": 300, "external_id": 40, "owner": 300, "verified_by": 300, "verified_session": 300,
            "evidence_url": 500}


def _display(value: Any, name: str = "") -> str:
    if name == "progress_status":
        return str(prog.STATUS_LABELS.get(value or "", value))
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return _fmt_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _new_commitment_fields() -> dict:
    """Staged values of a commitment the file creates (before its row is read)."""
    return {"title": "", "external_id": "", "owner_institution": "", "start_date": None, "end_date": None,
            "progress_status": "not_started", "progress": None, "progress_manual": False, "progress_reason": "",
            "verified_by": "", "verified_session": "", "verification_url": ""}


def _staged_commitment(c: Commitment) -> dict:
    """Staged values of an existing commitment: its columns, with the status and progress of
    :meth:`~plugins.action_plans.models.Commitment.figures`."""
    staged = {f: getattr(c, f) for f in _COMMITMENT_FIELDS}
    f = c.figures()
    staged["progress_status"], staged["progress"] = f.status, f.progress
    return staged


def analyze(plan: ActionPlan, text: str, tenant, remove: bool = False) -> Analysis:
    """Validate CSV ``text`` against ``plan`` as it is now in the database.

    Args:
        plan: the plan the file is imported into.
        text: the decoded file (:func:`decode`), in either language.
        tenant: the current tenant (its settings give the statuses).
        remove: also remove the commitments and milestones that are not in the file (a draft
            commitment is deleted, a published one retracted; a milestone is removed).

    Returns:
        An :class:`Analysis` with every error (line, column as written in the file, message;
        nothing is changed) and, when there are none, every change that :func:`apply` would make
        (``create``, ``update`` and, with ``remove``, ``remove``), and ``absent``: the records
        not in the file that are kept (without ``remove``).
    """
    allowed = services.statuses(tenant)
    delimiter, header, rows, errors, shown = read_rows(text)
    result = Analysis(delimiter=delimiter, rows=len(rows), remove=remove)
    if errors and any(e.line <= 1 for e in errors):
        result.errors = errors
        return result
    present = set(header)
    commitments = {c.number: c for c in plan.commitments if c.status != "retracted"}
    retracted = {c.number for c in plan.commitments if c.status == "retracted"}
    staged_c: dict[int, dict] = {n: _staged_commitment(c) for n, c in commitments.items()}
    staged_m: dict[tuple[int, int], dict] = {}
    for c in commitments.values():
        for m in c.milestones:
            staged_m[(c.number, m.number)] = {f: getattr(m, f) for f in _MILESTONE_FIELDS}
    original_m = {k: dict(v) for k, v in staged_m.items()}
    lines_c: dict[int, int] = {}
    lines_m: dict[tuple[int, int], int] = {}
    new_c: set[int] = set()
    new_m: set[tuple[int, int]] = set()
    progress_cells: dict[int, tuple[int, float | None, bool]] = {}
    status_cells: dict[int, tuple[int, str]] = {}
    corrections: dict[Any, str] = {}

    def err(line, column, message):
        errors.append(RowError(line, column, str(message), shown.get(column, column)))

    for line, row in rows:
        kind = _RECORD_WORDS.get(_fold(row.get("record", "")))
        if kind is None:
            err(line, "record", _("“%(value)s” is not a record type; write “commitment” or “milestone” (in Spanish, "
                                  "“compromiso” or “hito”).", value=row.get("record", "")))
            continue
        if "plan" in present and row.get("plan", "").strip():
            try:
                number = parse_int(row["plan"])
            except ValueError as exc:
                err(line, "plan", exc)
                continue
            if number != plan.number:
                err(line, "plan", _("this row belongs to plan %(other)s, but you are importing into plan %(this)s.",
                                    other=number, this=plan.number))
                continue
        try:
            cnum = parse_int(row.get("commitment", ""))
        except ValueError as exc:
            err(line, "commitment", exc)
            continue
        if cnum is None:
            err(line, "commitment", _("the commitment number is missing."))
            continue
        if cnum in retracted:
            err(line, "commitment", _("commitment %(n)s was retracted; a retracted commitment cannot be changed. Use "
                                      "another number for a new commitment.", n=cnum))
            continue
        if cnum not in commitments and cnum not in new_c:
            if kind == "milestone":
                err(line, "commitment", _("plan %(plan)s has no commitment %(n)s, and no row above creates it (known: "
                                          "%(known)s); put the commitment's row before its milestones.",
                                          plan=plan.number, n=cnum,
                                          known=", ".join(str(n) for n in sorted(commitments)) or "—"))
                continue
            new_c.add(cnum)
            staged_c[cnum] = _new_commitment_fields()
        for column, value in row.items():
            limit = _MAX_LEN.get(column)
            if limit and len(value) > limit:
                err(line, column, _("use at most %(max)d characters.", max=limit))
        only = COMMITMENT_ONLY if kind == "milestone" else MILESTONE_ONLY
        bad_only = [c for c in only if row.get(c, "").strip()]
        for column in bad_only:
            err(line, column, _("only commitment rows have this column.") if kind == "milestone"
                else _("only milestone rows have this column."))
        if bad_only:
            continue
        if kind == "commitment":
            if row.get("milestone", "").strip():
                err(line, "milestone", _("a commitment row has no milestone number."))
                continue
            if cnum in lines_c:
                err(line, "commitment", _("commitment %(n)s appears twice (also on line %(other)d).", n=cnum,
                                          other=lines_c[cnum]))
                continue
            lines_c[cnum] = line
            target = staged_c[cnum]
            key: Any = cnum
        else:
            try:
                mnum = parse_int(row.get("milestone", ""))
            except ValueError as exc:
                err(line, "milestone", exc)
                continue
            if mnum is None:
                err(line, "milestone", _("the milestone number is missing."))
                continue
            key = (cnum, mnum)
            if key in lines_m:
                err(line, "milestone", _("milestone %(c)s.%(m)s appears twice (also on line %(other)d).", c=cnum, m=mnum,
                                         other=lines_m[key]))
                continue
            lines_m[key] = line
            if key not in staged_m:
                staged_m[key] = {"description": "", "owner": "", "start_date": None, "end_date": None,
                                 "progress_status": "not_started", "progress": 0.0, "weight": 0.0, "deliverable": "",
                                 "verification_means": "", "evidence_url": ""}
                new_m.add(key)
            target = staged_m[key]
        idx = 0 if kind == "commitment" else 1
        for column, fields in _COLUMN_FIELDS.items():
            name = fields[idx]
            if name is None or column not in present:
                continue
            value = row.get(column, "")
            try:
                if column in ("start_date", "end_date"):
                    target[name] = parse_date(value)
                elif column == "weight":
                    number = parse_number(value)
                    if number is None or number <= 0:
                        raise ValueError(_("a milestone needs a weight greater than 0 and at most 100."))
                    target[name] = number
                else:
                    target[name] = value
            except ValueError as exc:
                err(line, column, exc)
        if "title" in present and not (target["title" if kind == "commitment" else "description"] or "").strip():
            err(line, "title", _("the title cannot be empty."))
        if kind == "milestone" and key in new_m and "weight" not in present:
            err(line, "weight", _("a new milestone needs a weight."))
        # status
        old_status = target["progress_status"]
        is_new = (kind == "milestone" and key in new_m) or (kind == "commitment" and cnum in new_c)
        if kind == "commitment" and "status" in present:
            status_cells[cnum] = (line, old_status)
        if "status" in present:
            try:
                status = parse_status(row.get("status", ""), allowed)
            except ValueError as exc:
                err(line, "status", exc)
                status = old_status
            if kind == "milestone" and not status:
                err(line, "status", _("a milestone needs a status."))
                status = old_status
            if not is_new:
                correction = row.get("status_correction", "") if "status_correction" in present else ""
                problem = prog.transition_problem(old_status, status, allowed, correction)
                if problem:
                    err(line, "status", problem)
                    status = old_status
                elif status != old_status and old_status in allowed and status in allowed \
                        and prog.status_rank(status, allowed) < prog.status_rank(old_status, allowed):
                    corrections[key] = correction.strip()
            target["progress_status"] = status
        elif kind == "commitment" and row.get("status_correction", "").strip():
            err(line, "status_correction", _("a status correction needs the status column."))
        # progress
        value = None
        if "progress" in present:
            try:
                value = parse_number(row.get("progress", ""))
            except ValueError as exc:
                err(line, "progress", exc)
                continue
        if kind == "milestone":
            status = target["progress_status"]
            if value is None:
                value = 100.0 if status in prog.DONE else (0.0 if status == "not_started" else float(target["progress"] or 0))
            problem = prog.milestone_progress_problem(status, value)
            if problem:
                err(line, "progress", problem)
            target["progress"] = value
            continue
        reason = row.get("progress_reason", "").strip() if "progress_reason" in present else None
        if "progress" in present:
            progress_cells[cnum] = (line, value, bool(reason))
        if reason:
            if value is None:
                err(line, "progress", _("give the progress figure you set by hand (0 to 100)."))
            target["progress_manual"], target["progress_reason"], target["progress"] = True, reason, value
        elif reason is not None:
            target["progress_manual"], target["progress_reason"] = False, ""
        elif target["progress_manual"] and value is not None and (
                target["progress"] is None or abs(value - target["progress"]) >= prog.EPSILON):
            err(line, "progress_reason", _("the progress of commitment %(n)s is set by hand: give the reason for the new "
                                           "figure in column “progress_reason”.", n=cnum))

    # records absent from the file: removed (remove=True) or kept and listed
    in_file = set(lines_c) | {k[0] for k in lines_m}
    removed_c = {n for n in commitments if n not in in_file}
    removed_m = {k for k in original_m if k[0] in in_file and k not in lines_m}
    if not remove:
        result.absent = [commitment_label(commitments[n]) for n in sorted(removed_c)] + [
            _("Milestone %(c)s.%(m)s: %(title)s", c=k[0], m=k[1], title=original_m[k]["description"])
            for k in sorted(removed_m)]
        removed_c, removed_m = set(), set()
    for k in removed_m:
        del staged_m[k]

    # cross-row checks on the staged state
    for cnum in sorted(staged_c):
        if cnum in removed_c:
            continue
        c = commitments.get(cnum)
        sc = staged_c[cnum]
        line = lines_c.get(cnum)
        ms = {k[1]: v for k, v in staged_m.items() if k[0] == cnum}
        touched = line is not None or any(k[0] == cnum for k in lines_m) or any(k[0] == cnum for k in removed_m)
        if not touched:
            continue
        first_line = line or min((lines_m[k] for k in lines_m if k[0] == cnum), default=0)
        if ms:
            total = prog.weights_total(v["weight"] for v in ms.values())
            if not prog.weights_ok(total):
                weight_line = min((lines_m[k] for k in lines_m if k[0] == cnum), default=first_line)
                err(weight_line, "weight", _("the weights of the milestones of commitment %(n)s add up to %(total)s, not 100.",
                                             n=cnum, total=_fmt_number(total)))
        problem = prog.date_order_problem(sc["start_date"], sc["end_date"])
        if problem and line:
            err(line, "end_date", problem)
        problem = prog.within_problem(sc["start_date"], sc["end_date"], plan.valid_from, plan.valid_until, _("plan"))
        if problem and line:
            err(line, "start_date" if sc["start_date"] and plan.valid_from and sc["start_date"] < plan.valid_from
                else "end_date", problem)
        for mnum, sm in ms.items():
            mline = lines_m.get((cnum, mnum))
            if mline is None:
                continue
            problem = prog.date_order_problem(sm["start_date"], sm["end_date"])
            if problem:
                err(mline, "end_date", problem)
                continue
            problem = prog.within_problem(sm["start_date"], sm["end_date"], sc["start_date"], sc["end_date"],
                                          _("commitment"))
            if problem:
                err(mline, "start_date" if sm["start_date"] and sc["start_date"] and sm["start_date"] < sc["start_date"]
                    else "end_date", problem)
        # status and progress of the commitment: the one definition (progress.commitment_figures)
        ns = [SimpleNamespace(**v) for v in ms.values()]
        figures = prog.commitment_figures(ns, sc["progress_status"], sc["progress_manual"], sc["progress"])
        cell = status_cells.get(cnum)
        if ns and figures.status != sc["progress_status"]:
            if cell and sc["progress_status"] != cell[1] and not (cnum in new_c and sc["progress_status"] == ""):
                err(cell[0], "status", _("commitment %(n)s has milestones, so its status follows from them: it will be "
                                         "“%(status)s”. Leave the cell as exported, or change the milestones' status.",
                                         n=cnum, status=prog.STATUS_LABELS.get(figures.status, figures.status)))
        sc["progress_status"] = figures.status
        cell = progress_cells.get(cnum)
        if not sc["progress_manual"]:
            if cell and cell[1] is not None and not cell[2]:
                before = c.figures().progress if c is not None else None
                same_as_before = before is not None and abs(cell[1] - before) < prog.EPSILON
                same_as_new = figures.progress is not None and abs(cell[1] - figures.progress) < prog.EPSILON
                if not (same_as_before or same_as_new):
                    err(cell[0], "progress", _(
                        "the progress of commitment %(n)s is computed from its milestones and status (%(computed)s); "
                        "leave the cell as exported or empty, or give a reason in column “%(column)s” to set it by hand.",
                        n=cnum, computed=_display(figures.progress), column=shown["progress_reason"]))
        sc["progress"] = figures.progress
        if cnum in new_c and not (sc["title"] or "").strip() and line:
            err(line, "title", _("the title cannot be empty."))
        # verification
        if sc["progress_status"] == "verified" and line is not None:
            reports = c.reports if c is not None else []
            urls = [sc["verification_url"]] + [v["evidence_url"] for v in ms.values()] + [r.evidence_url for r in reports]
            evidence = any((u or "").strip() for u in urls) or (c is not None and bool(commitment_attachments(c)))
            problem = prog.verification_problem("verified", sc["verified_by"], evidence)
            if problem:
                err(line, "verified_by" if not (sc["verified_by"] or "").strip() else "evidence_url", problem)

    result.errors = sorted(errors, key=lambda e: (e.line, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    if result.errors:
        return result

    # changes
    for cnum in sorted(staged_c):
        c = commitments.get(cnum)
        sc = staged_c[cnum]
        published = c is not None and c.status == "published"
        if cnum in removed_c:
            result.changes.append(RecordChange(
                "commitment", commitment_label(c), 0, published=published, action="remove",
                fields=[(str(COLUMN_LABELS["record"]), _("published: it will be retracted with the reason given")
                         if published else _("draft: it will be deleted"), "—")]))
            continue
        fields = []
        before = _staged_commitment(c) if c is not None else {}
        for name in _COMMITMENT_FIELDS:
            old, new = before.get(name), sc[name]
            if old != new and not (old in (None, "") and new in (None, "")):
                if isinstance(old, float) and isinstance(new, float) and abs(old - new) < prog.EPSILON:
                    continue
                fields.append((str(COLUMN_LABELS[_FIELD_COLUMN[name]]), _display(old, name), _display(new, name)))
        if fields:
            label = commitment_label(c) if c is not None else _("Commitment %(n)s: %(title)s", n=cnum, title=sc["title"])
            result.changes.append(RecordChange("commitment", label, lines_c.get(cnum, 0), is_new=cnum in new_c,
                                               published=published, fields=fields,
                                               action="create" if cnum in new_c else "update"))
        for (cn, mnum) in sorted(removed_m):
            if cn == cnum:
                result.changes.append(RecordChange(
                    "milestone", _("Milestone %(c)s.%(m)s: %(title)s", c=cn, m=mnum, title=original_m[(cn, mnum)]["description"]),
                    0, published=published, action="remove",
                    fields=[(str(COLUMN_LABELS["weight"]), _display(original_m[(cn, mnum)]["weight"]), "—")]))
        for (cn, mnum), sm in sorted(staged_m.items()):
            if cn != cnum:
                continue
            old_m = original_m.get((cn, mnum))
            fields = []
            for name in _MILESTONE_FIELDS:
                old = old_m[name] if old_m else None
                new = sm[name]
                if old != new and not (old in (None, "") and new in (None, "")):
                    if isinstance(old, float) and isinstance(new, (float, int)) and abs(old - new) < prog.EPSILON:
                        continue
                    fields.append((str(COLUMN_LABELS[_FIELD_COLUMN[name]]), _display(old, name), _display(new, name)))
            if fields:
                result.changes.append(RecordChange(
                    "milestone", _("Milestone %(c)s.%(m)s: %(title)s", c=cn, m=mnum, title=sm["description"]),
                    lines_m.get((cn, mnum), 0), is_new=(cn, mnum) in new_m, published=published,
                    fields=fields, action="create" if (cn, mnum) in new_m else "update"))
    result.changes.sort(key=lambda ch: (ch.line == 0, ch.line))
    result.staged = {"commitments": staged_c, "milestones": staged_m, "new": new_m, "new_commitments": new_c,
                     "removed_commitments": removed_c, "removed_milestones": removed_m, "corrections": corrections}
    return result


def apply(plan: ActionPlan, text: str, tenant, reason: str, user, remove: bool = False) -> Analysis:
    """Re-analyse ``text`` against the current database and apply every change (all or
    nothing; the caller commits, or rolls back on an exception).

    New commitments are created as drafts (with their milestones); changed published
    commitments and the plan get a correction with ``reason``; with ``remove``, absent draft
    commitments are deleted, absent published ones retracted with ``reason`` and absent
    milestones removed. Every created, changed or removed commitment gets a
    ``commitment.import`` audit event. The caller records the plan's ``action_plan.import``
    event (the admin view does it through :func:`comun_cms.toolkit.admin_change`).

    Args:
        plan: the plan the file belongs to.
        text: the decoded file (:func:`decode`).
        tenant: the current tenant (its settings give the statuses).
        reason: the correction reason (needed when published records change or are retracted).
        user: who publishes the corrections.
        remove: remove the records absent from the file (the user confirmed the preview).

    Returns:
        The :class:`Analysis` of the file, with ``publications`` set.

    Raises:
        ImportRejected: the file has errors now, or published records change and ``reason`` is
            empty.
        comun_cms.toolkit.PublishError: publishing failed (the session was rolled back).
    """
    analysis = analyze(plan, text, tenant, remove=remove)
    if not analysis.ok:
        raise ImportRejected(analysis.errors)
    if analysis.needs_reason and not (reason or "").strip():
        raise ImportRejected([RowError(0, "", _("Published commitments change: give the reason for the correction."))])
    staged = analysis.staged
    changed: list[Commitment] = []
    pubs: list[Publication] = []
    for c in list(plan.commitments):
        if c.number in staged["removed_commitments"]:
            before = {**snapshot(c), "milestones": [snapshot(m) for m in c.milestones]}
            if c.status == "published":
                pubs.append(retract(c, reason=reason, user=user, commit=False))
                after: Any = {"retracted": True, "reason": reason}
            else:
                services.delete_attachments(OWNER_MILESTONE, [m.id for m in c.milestones])
                services.delete_attachments(OWNER_REPORT, [r.id for r in c.reports])
                services.delete_attachments(OWNER_COMMITMENT, [c.id])
                plan.commitments.remove(c)
                after = None
            record_audit("commitment.import", "commitment", before["id"], before, after)
            continue
        if c.number not in staged["commitments"] or c.status == "retracted":
            continue
        before = snapshot(c)
        sc = staged["commitments"][c.number]
        for name in _COMMITMENT_FIELDS:
            setattr(c, name, sc[name])
        touched = False
        for m in list(c.milestones):
            if (c.number, m.number) in staged["removed_milestones"]:
                services.delete_attachments(OWNER_MILESTONE, [m.id])
                c.milestones.remove(m)
                touched = True
        touched = _apply_milestones(c, staged) or touched
        services.recompute(c)
        after = snapshot(c)
        if touched or after != before:
            changed.append(c)
            note = {k: v for k, v in staged["corrections"].items() if (k == c.number or (isinstance(k, tuple) and k[0] == c.number))}
            record_audit("commitment.import", "commitment", c.id, before,
                         {**after, "milestones": [snapshot(m) for m in c.milestones],
                          "status_corrections": {str(k): v for k, v in note.items()}})
    for cnum in sorted(staged["new_commitments"]):
        sc = staged["commitments"][cnum]
        c = Commitment(number=cnum, og_values=[], sdg_goals=[], co_responsible_government=[],
                       co_responsible_civil_society=[], is_demo=plan.is_demo,
                       **{name: sc[name] for name in _COMMITMENT_FIELDS})
        plan.commitments.append(c)
        _apply_milestones(c, staged)
        services.recompute(c)
        db.session.flush()
        record_audit("commitment.import", "commitment", c.id, None,
                     {**snapshot(c), "milestones": [snapshot(m) for m in c.milestones]})
    db.session.flush()
    analysis.publications = pubs + services.republish(changed, plan, reason, user)
    return analysis


def _apply_milestones(c: Commitment, staged: dict) -> bool:
    """Create and update the milestones of ``c`` from the staged analysis; ``True`` when any
    changed."""
    touched = False
    for (cn, mnum), sm in sorted(staged["milestones"].items()):
        if cn != c.number:
            continue
        if (cn, mnum) in staged["new"]:
            c.milestones.append(Milestone(number=mnum, **sm))
            touched = True
        else:
            m = next(x for x in c.milestones if x.number == mnum)
            if any(getattr(m, f) != sm[f] for f in _MILESTONE_FIELDS):
                for f in _MILESTONE_FIELDS:
                    setattr(m, f, sm[f])
                touched = True
    return touched
