"""Quorum of a session, computed from the body's member seats and the attendance.

Rules (``Body.quorum_rule``, labels in :data:`~plugins.stl_minutes.vocab.QUORUM_RULES`):

* ``majority``: more than half of the seats are present (``n // 2 + 1``).
* ``majority_each_sector``: in every sector that has seats, more than half of its seats are
  present (this implies the overall majority).
* ``majority_all_sectors``: overall majority, and at least one seat of every sector present
  (the STL rule of balanced representation and consensus among sectors: *Apertura
  institucional*, module of the diploma course, in ``shared/data/stl_sessions.json``,
  ``stl_operating_rules``).

A *seat* is a member with capacity ``member`` whose term covers the session date. A seat is
present when its member attends, or an alternate attends for it (attendance ``represents`` the
seat, or the attendee's member record is an alternate of that seat). Guests, facilitators and
typed-in attendees not linked to a seat never count.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

RULES = ("majority", "majority_each_sector", "majority_all_sectors")


def majority(n: int) -> int:
    """Smallest number of seats that is more than half of ``n`` (``n // 2 + 1``; 0 for 0)."""
    return n // 2 + 1 if n > 0 else 0


@dataclass
class SectorCount:
    """Seats of one sector: ``total``, ``present``, ``required`` (by the rule) and ``met``."""

    sector: str
    total: int
    present: int
    required: int
    met: bool


@dataclass
class QuorumResult:
    """Outcome of :func:`compute_quorum`.

    ``rule``; ``seats`` (total) and ``present`` (present seats); ``required``; ``met`` (``None``
    when it cannot be determined: no seats registered); ``sectors`` (:class:`SectorCount` list,
    sorted by sector code; ``""`` groups seats whose sector is not recorded).
    """

    rule: str
    seats: int
    present: int
    required: int
    met: bool | None
    sectors: list[SectorCount] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (stored in ``Session.quorum_snapshot`` and published)."""
        return {"rule": self.rule, "seats": self.seats, "present": self.present, "required": self.required,
                "met": self.met,
                "sectors": [{"sector": s.sector, "total": s.total, "present": s.present, "required": s.required,
                             "met": s.met} for s in self.sectors]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "QuorumResult | None":
        """Rebuild a result from :meth:`as_dict` output (``None`` stays ``None``)."""
        if not data:
            return None
        return cls(rule=data.get("rule", "majority"), seats=int(data.get("seats", 0)),
                   present=int(data.get("present", 0)), required=int(data.get("required", 0)),
                   met=data.get("met"),
                   sectors=[SectorCount(**s) for s in data.get("sectors", [])])


def seats_on(members: Iterable[Any], on: dt.date | None) -> list[Any]:
    """Members with capacity ``member`` whose term covers ``on`` (the seats of that day)."""
    return [m for m in members if m.capacity == "member" and m.in_term(on)]


def compute_quorum(members: Iterable[Any], attendance: Iterable[Any], rule: str = "majority",
                   on: dt.date | None = None) -> QuorumResult:
    """Compute the quorum of a session.

    Args:
        members: the body's members (objects with ``id``, ``capacity``, ``sector``,
            ``alternate_for_id`` and ``in_term(date)``).
        attendance: attendees (objects with ``member_id``, ``represents_id`` and ``member``,
            the member record or ``None``).
        rule: one of :data:`RULES`.
        on: the session date (local calendar date) used for member terms; ``None`` ignores terms.

    Returns:
        A :class:`QuorumResult`; ``met`` is ``None`` when the body has no seats that day.

    Raises:
        ValueError: unknown ``rule``.
    """
    if rule not in RULES:
        raise ValueError(f"unknown quorum rule {rule!r}; use one of {', '.join(RULES)}")
    members = list(members)
    seats = seats_on(members, on)
    seat_ids = {m.id for m in seats}
    alternate_of = {m.id: m.alternate_for_id for m in members if m.alternate_for_id}
    present_ids: set[int] = set()
    for a in attendance:
        for candidate in (a.member_id, a.represents_id, alternate_of.get(a.member_id)):
            if candidate in seat_ids:
                present_ids.add(candidate)
                break
    by_sector: dict[str, list[Any]] = {}
    for m in seats:
        by_sector.setdefault(m.sector or "", []).append(m)
    total, present = len(seats), len(present_ids)
    required = majority(total)
    sectors = []
    for sector in sorted(by_sector):
        group = by_sector[sector]
        n_present = sum(1 for m in group if m.id in present_ids)
        need = majority(len(group)) if rule == "majority_each_sector" else (1 if rule == "majority_all_sectors" else 0)
        sectors.append(SectorCount(sector, len(group), n_present, need, n_present >= need))
    if total == 0:
        return QuorumResult(rule, 0, 0, 0, None, sectors)
    met = present >= required
    if rule in ("majority_each_sector", "majority_all_sectors"):
        met = met and all(s.met for s in sectors)
    return QuorumResult(rule, total, present, required, met, sectors)
