"""Progress arithmetic and status rules of commitments and milestones (pure functions).

* A milestone's progress is 0 when not started, 100 when completed or verified, and its own
  figure (0–100) while started (:func:`milestone_progress`).
* A commitment's status, progress and progress bar have **one definition**,
  :func:`commitment_figures` (used, through ``services.figures``, by every page, the admin,
  the progress reports, the published content, the API, the open data and search):

  - progress: the figure set by hand with a reason, else the weighted mean of its milestones'
    progress (:func:`weighted_progress`), else (no milestones) 100 when completed or verified,
    0 when not started and unknown (``None``) otherwise;
  - status: with milestones it follows from them: *not started* while none has started,
    *completed* when all are completed or verified (*verified* when, besides, the commitment's
    verification by a named third party is recorded), *started* otherwise; without milestones it
    is the status recorded on the commitment;
  - bar: the filled part is the progress, split by the status of the milestones it comes from
    (a started milestone adds its own progress times its weight); the rest is *pending*.
* A plan's progress is the mean of its commitments' known progress (:func:`plan_progress`).
* Statuses move only forward (not started -> started -> completed -> verified) unless a
  correction gives a reason (:func:`transition_problem`); "verified" needs a named verifier and
  evidence (:func:`verification_problem`).
* A milestone is overdue when its end date has passed in the tenant's time zone and it is
  neither completed nor verified (:func:`is_overdue`, :func:`tenant_today`).

Percentages are floats rounded to two decimals. Sources of the status vocabulary: the AGA México
chart "Progreso de acciones y actividades por compromiso" (verificados, completados, iniciados,
por iniciar), described in ``apertura-institucional-diplomado.txt``.
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from flask_babel import lazy_gettext as _l

#: Every commitment / milestone status, in forward order.
STATUSES: tuple[str, ...] = ("not_started", "started", "completed", "verified")
#: Statuses that count as done (progress 100).
DONE: tuple[str, ...] = ("completed", "verified")
#: Tolerance when comparing percentages (weights adding up to 100, progress figures).
EPSILON = 0.01

STATUS_LABELS = {
    "not_started": _l("Not started"),
    "started": _l("Started"),
    "completed": _l("Completed"),
    "verified": _l("Verified"),
    "": _l("No information"),
}
#: Chart segment labels: the progress coming from verified, completed and started milestones
#: (or the commitment's own status without milestones), "reported" (progress published without a
#: status) and "pending" (what is left to reach 100).
SEGMENT_LABELS = {**STATUS_LABELS, "reported": _l("Reported progress, no status"), "pending": _l("Pending")}
#: Chart colours (fill) per segment, chosen for contrast against white and each other.
SEGMENT_COLOURS = {
    "verified": "#1b5e20",
    "completed": "#43a047",
    "started": "#f9a825",
    "not_started": "#cfd8dc",
    "reported": "#1565c0",
    "pending": "#cfd8dc",
}
#: Order of segments in the stacked chart (left to right), as in the AGA México chart.
SEGMENT_ORDER: tuple[str, ...] = ("verified", "completed", "started", "reported", "pending")

PHASES: tuple[str, ...] = ("co_creation", "implementation", "concluded", "evaluated")
PHASE_LABELS = {
    "co_creation": _l("Co-creation"),
    "implementation": _l("Implementation"),
    "concluded": _l("Concluded"),
    "evaluated": _l("Evaluated"),
    "": _l("No information"),
}
FRAMEWORKS: tuple[str, ...] = ("inai_cocreation", "ogp_local", "ogp_national", "own")
FRAMEWORK_LABELS = {
    "inai_cocreation": _l("INAI: co-creation from the local level"),
    "ogp_local": _l("OGP Local"),
    "ogp_national": _l("OGP national action plan"),
    "own": _l("Own methodology"),
}
ORIGINS: tuple[str, ...] = ("co_created", "proactive")
ORIGIN_LABELS = {"co_created": _l("Co-created"), "proactive": _l("Proactive"), "": _l("No information")}
#: OGP values a commitment can be relevant to.
OG_VALUES: tuple[str, ...] = ("access_to_information", "civic_participation", "public_accountability",
                              "technology_innovation")
OG_VALUE_LABELS = {
    "access_to_information": _l("Access to information"),
    "civic_participation": _l("Civic participation"),
    "public_accountability": _l("Public accountability"),
    "technology_innovation": _l("Technology and innovation for transparency and accountability"),
}
#: OGP Independent Reporting Mechanism scales (source: action_plans.json "reference").
IRM_COMPLETION = ("no_evidence", "not_started", "limited", "substantial", "complete")
IRM_POTENTIAL = ("unclear", "modest", "substantial")
IRM_EARLY_RESULTS = ("worsened", "did_not_change", "marginal", "major", "outstanding")
IRM_LABELS = {
    "no_evidence": _l("No evidence available"), "not_started": _l("Not started"), "limited": _l("Limited"),
    "substantial": _l("Substantial"), "complete": _l("Complete"), "unclear": _l("Unclear"),
    "modest": _l("Modest"), "worsened": _l("Worsened"), "did_not_change": _l("Did not change"),
    "marginal": _l("Marginal"), "major": _l("Major"), "outstanding": _l("Outstanding"), "": _l("No information"),
}


def round_pct(value: float | None) -> float | None:
    """Round a percentage to two decimals (``None`` stays ``None``)."""
    if value is None:
        return None
    return round(float(value) + 0.0, 2)


def clamp_pct(value: float) -> float:
    """Clamp ``value`` into [0, 100]."""
    return min(100.0, max(0.0, float(value)))


def milestone_progress(status: str, progress: float | None) -> float:
    """Effective progress of a milestone (percent).

    Args:
        status: its status (one of :data:`STATUSES`).
        progress: its own figure, used only while ``started`` (``None`` counts as 0).

    Returns:
        100.0 for completed/verified, 0.0 for not started, else ``progress`` clamped to [0, 100].
    """
    if status in DONE:
        return 100.0
    if status == "started":
        return clamp_pct(progress or 0.0)
    return 0.0


def weighted_progress(items: Iterable[tuple[float, float]]) -> float | None:
    """Weighted mean of ``(weight, progress)`` pairs, rounded to two decimals.

    Weights are relative (they need not add up to 100); non-positive weights are ignored.
    Returns ``None`` when no item has a positive weight.
    """
    pairs = [(float(w), float(p)) for w, p in items if w is not None and float(w) > 0]
    total = math.fsum(w for w, _ in pairs)
    if total <= 0:
        return None
    return round_pct(math.fsum(w * p for w, p in pairs) / total)


@dataclass(frozen=True)
class Figures:
    """A commitment's status, progress and bar, as :func:`commitment_figures` defines them.

    ``status``: one of :data:`STATUSES` or ``""`` (not reported); ``progress``: percent (two
    decimals) or ``None`` (unknown); ``segments``: ``((segment key, percent), ...)`` in
    :data:`SEGMENT_ORDER`, adding up to 100 (empty when the progress is unknown); ``source``:
    where the progress comes from, ``"manual"``, ``"milestones"`` or ``"status"``.
    """

    status: str
    progress: float | None
    segments: tuple[tuple[str, float], ...]
    source: str


def derived_status(milestones: Sequence, recorded: str) -> str:
    """The status of a commitment with ``milestones`` (objects with ``progress_status``):
    ``not_started`` while none has started, ``completed`` when all are completed or verified
    (``verified`` when ``recorded``, the commitment's own status, is ``verified``), ``started``
    otherwise. Without milestones, ``recorded``."""
    statuses = [m.progress_status for m in milestones]
    if not statuses:
        return recorded or ""
    if all(s in DONE for s in statuses):
        return "verified" if recorded == "verified" else "completed"
    if all(s not in STATUSES or s == "not_started" for s in statuses):
        return "not_started"
    return "started"


def _segments(parts: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """Segments from the shares of the progress per key plus ``pending`` (the rest to 100)."""
    rounded = {k: round(v, 2) for k, v in parts.items() if v > 0.004}
    rounded["pending"] = max(0.0, round(100.0 - math.fsum(rounded.values()), 2))
    return tuple((k, rounded[k]) for k in SEGMENT_ORDER if rounded.get(k, 0) > 0.004)


def commitment_figures(milestones: Sequence, recorded_status: str, manual: bool = False,
                       manual_value: float | None = None) -> Figures:
    """The one definition of a commitment's status, progress and progress bar.

    Args:
        milestones: objects with ``weight``, ``progress_status`` and ``progress`` (a
            commitment's milestones, or staged values during a CSV import).
        recorded_status: the status recorded on the commitment (``""`` when not reported); it
            is the status when there are no milestones, and marks a commitment whose milestones
            are all done as ``verified``.
        manual: the progress is set by hand (with a reason, checked elsewhere).
        manual_value: the hand-set figure (clamped to [0, 100], two decimals).

    Returns:
        :class:`Figures`. Status: :func:`derived_status`. Progress: the hand-set figure, else
        the weighted mean of the milestones' effective progress (:func:`milestone_progress`,
        :func:`weighted_progress`), else 100 for completed/verified, 0 for not started and
        ``None`` otherwise. Segments: with milestones (progress not set by hand), each
        milestone adds ``weight / total weight × its progress`` to the segment of its status;
        otherwise the whole progress goes to the commitment's status (``reported`` when it is
        not started or not reported); ``pending`` is the rest up to 100.
    """
    status = derived_status(milestones, recorded_status)
    weighted = [(float(m.weight), m) for m in milestones if m.weight is not None and float(m.weight) > 0]
    total = math.fsum(w for w, _m in weighted)
    if manual:
        progress = None if manual_value is None else round_pct(clamp_pct(manual_value))
        source = "manual"
    else:
        progress = weighted_progress((w, milestone_progress(m.progress_status, m.progress)) for w, m in weighted)
        source = "milestones"
        if progress is None:
            source = "status"
            progress = 100.0 if status in DONE else 0.0 if status == "not_started" else None
    if progress is None:
        return Figures(status, None, (), source)
    if source == "milestones" and total > 0:
        parts: dict[str, float] = {}
        for w, m in weighted:
            key = m.progress_status if m.progress_status in DONE or m.progress_status == "started" else None
            if key:
                parts[key] = parts.get(key, 0.0) + w / total * milestone_progress(m.progress_status, m.progress)
    else:
        key = status if status in DONE or status == "started" else "reported"
        parts = {key: float(progress)}
    return Figures(status, progress, _segments(parts), source)


def commitment_progress(milestones: Sequence, status: str, manual: bool = False,
                        manual_value: float | None = None) -> float | None:
    """The progress of :func:`commitment_figures` (percent or ``None`` when unknown)."""
    return commitment_figures(milestones, status, manual, manual_value).progress


def plan_progress(values: Iterable[float | None]) -> float | None:
    """Mean progress of a plan's commitments, ignoring unknown (``None``) figures.

    Returns ``None`` when no commitment has a known figure.
    """
    known = [float(v) for v in values if v is not None]
    if not known:
        return None
    return round_pct(math.fsum(known) / len(known))


def weights_total(weights: Iterable[float]) -> float:
    """Sum of milestone weights, rounded to two decimals."""
    return round(math.fsum(float(w or 0) for w in weights), 2)


def weights_ok(total: float) -> bool:
    """``True`` when weights add up to 100 (within :data:`EPSILON`)."""
    return abs(total - 100.0) < EPSILON


def proposed_weights(weights: Sequence[tuple[object, float]], keep: object = None) -> dict[object, float]:
    """A rebalance of milestone weights so that they add up to 100, to be *shown* to the user
    and applied only when confirmed (weights typed are never changed silently).

    Args:
        weights: ``[(key, weight in percent)]`` in display order (keys are milestone ids, or any
            hashable such as ``"new"`` for a milestone being added).
        keep: the key whose weight stays as typed (the milestone just edited); ``None`` scales
            every weight.

    Returns:
        ``{key: proposed weight}`` for every key: the others scaled proportionally into the room
        left by ``keep`` (``100 - weight of keep``), in equal shares when they are all 0; two
        decimals, the rounding rest added to the largest scaled weight. When ``keep``'s weight
        alone is 100 or more, or it is the only key, the weights are returned unchanged.
    """
    current = {k: round(float(w or 0), 2) for k, w in weights}
    fixed = current.get(keep, 0.0) if keep is not None else 0.0
    others = [k for k, _w in weights if k != keep]
    room = round(100.0 - fixed, 2)
    if not others or room <= 0:
        return current
    total = math.fsum(current[k] for k in others)
    out = dict(current)
    for k in others:
        out[k] = round(room / len(others), 2) if total <= 0 else round(current[k] * room / total, 2)
    rest = round(room - math.fsum(out[k] for k in others), 2)
    if rest:
        biggest = max(others, key=lambda k: out[k])
        out[biggest] = round(out[biggest] + rest, 2)
    return out


def status_rank(status: str, order: Sequence[str] = STATUSES) -> int:
    """Position of ``status`` in ``order``; ``""`` (not reported) ranks -1.

    Raises:
        ValueError: an unknown status.
    """
    if status == "":
        return -1
    return list(order).index(status)


def transition_problem(old: str, new: str, order: Sequence[str] = STATUSES, correction_reason: str = ""):
    """Check a status change.

    Args:
        old / new: current and requested status (``""`` = not reported).
        order: the tenant's statuses in forward order.
        correction_reason: reason given for correcting a status backwards.

    Returns:
        ``None`` when allowed, else a translated message (lazy string) explaining why not.
    """
    if old == new:
        return None
    if new not in order:
        if new == "":
            return _l("A status that was reported cannot be erased; choose one of: %(allowed)s.",
                      allowed=", ".join(str(STATUS_LABELS[s]) for s in order))
        return _l("“%(status)s” is not a status; use one of: %(allowed)s.", status=new,
                  allowed=", ".join(order))
    old_rank = status_rank(old, order) if (old == "" or old in order) else -1
    if status_rank(new, order) < old_rank and not (correction_reason or "").strip():
        return _l("The status can only move forward (from “%(old)s” to “%(new)s” is backwards); "
                  "to correct a mistake, give the reason for the correction.",
                  old=STATUS_LABELS.get(old, old), new=STATUS_LABELS.get(new, new))
    return None


def verification_problem(status: str, verified_by: str, has_evidence: bool):
    """``None`` unless ``status`` is ``verified`` without a named verifier or without evidence
    (a file or a link); then a translated message."""
    if status != "verified":
        return None
    if not (verified_by or "").strip():
        return _l("A verified commitment needs the name of who verified it.")
    if not has_evidence:
        return _l("A verified commitment needs evidence: upload a file or give a link to the evidence.")
    return None


def milestone_progress_problem(status: str, progress: float | None):
    """``None`` when a milestone's progress agrees with its status, else a translated message:
    not started = 0, completed/verified = 100, started = 0–100."""
    if progress is None:
        return None
    if not 0 <= progress <= 100:
        return _l("Progress must be between 0 and 100.")
    if status == "not_started" and progress != 0:
        return _l("A milestone that has not started has 0 %% progress, not %(value)s.", value=progress)
    if status in DONE and abs(progress - 100) >= EPSILON:
        return _l("A completed or verified milestone has 100 %% progress, not %(value)s.", value=progress)
    return None


def date_order_problem(start: dt.date | None, end: dt.date | None):
    """``None`` unless both dates are given and ``end`` is before ``start``."""
    if start and end and end < start:
        return _l("The end date (%(end)s) is before the start date (%(start)s).", end=end.isoformat(),
                  start=start.isoformat())
    return None


def within_problem(start: dt.date | None, end: dt.date | None, outer_start: dt.date | None,
                   outer_end: dt.date | None, what):
    """``None`` unless the period [start, end] falls outside [outer_start, outer_end] (only the
    bounds that are known are checked); ``what`` names the outer period in the message."""
    if outer_start and start and start < outer_start:
        return _l("The start date (%(date)s) is before the start of the %(what)s (%(outer)s).",
                  date=start.isoformat(), what=what, outer=outer_start.isoformat())
    if outer_end and end and end > outer_end:
        return _l("The end date (%(date)s) is after the end of the %(what)s (%(outer)s).",
                  date=end.isoformat(), what=what, outer=outer_end.isoformat())
    return None


def tenant_today(tenant, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the tenant's time zone (``now`` is an aware datetime, default the
    current UTC time)."""
    return tenant.today(now)


def is_overdue(end_date: dt.date | None, status: str, today: dt.date) -> bool:
    """``True`` when ``end_date`` is before ``today`` (tenant time zone) and ``status`` is not
    completed or verified."""
    return bool(end_date and end_date < today and status not in DONE)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, minus one day (a validity of 12 months from
    2024-01-01 ends on 2024-12-31); the day is clipped to the end of shorter months."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last)) - dt.timedelta(days=1)
