"""Real and demo content of the STL-minutes plugin.

* :func:`load_real_sessions`: the real sessions of ``data/stl_sessions.json`` (copied from
  ``shared/data/stl_sessions.json``: facts from public news and official pages, each with its
  ``source``) for the tenant named in each entry: the Estado de México STL sessions 3, 11 and 19
  with their attendance and agreements. Facts the source does not report stay empty (no date,
  no vote, no responsible, follow-up status ``unknown``); the minutes are published without a
  recorded approval, and the pages say so.
* :func:`load_training_sessions`: the Sinaloa STL session 8 (and the date of session 7), training
  material for a training tenant only; never loaded into the three states.
* :func:`load_demo_sessions`: labelled demo data (``is_demo=True``, "Dato de ejemplo") for
  tenants without real sessions: a demo STL with members, published minutes with agreements (one
  overdue), minutes in review and an upcoming session with its call published.

Every loader looks its records up first, so running it again creates nothing twice.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from comun_cms.toolkit import db

from . import services as svc
from .models import Attendance, Body, Evidence, Member, Session
from .vocab import DEFAULT_PREFIXES

DATA_FILE = Path(__file__).parent / "data" / "stl_sessions.json"
SOURCE_NOTE = ("Sesión reconstruida a partir de la fuente pública citada. Los datos que la fuente no reporta "
               "(por ejemplo fecha, horario, modalidad o votación) se dejan vacíos; no se inventan.")
ROLES = {"preside": "Preside"}
EVIDENCE_CATEGORY = {"video of the session": ("video", "Video de la sesión (publicado en la fuente)"),
                     "session documents": ("other", "Documentos de la sesión (publicados en la fuente)")}


def load_data(path: Path = DATA_FILE) -> dict[str, Any]:
    """Read the sessions file (``{"sessions": [...], ...}``).

    Raises:
        ValueError: the file is not valid JSON or has no ``sessions`` list (message names the file).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the sessions file: {exc}") from None
    if not isinstance(data.get("sessions"), list):
        raise ValueError(f"{path}: key 'sessions' must be a list")
    return data


def _publisher(ctx):
    return lambda record: ctx.publish(record, commit=False)


def _body(name: str, *, kind: str = "stl", short_name: str = "STL", key_prefix: str = "", source: str = "",
          description: str = "", is_demo: bool = False) -> tuple[Body, bool]:
    body = db.session.scalar(select(Body).where(Body.name == name))
    if body is not None:
        return body, False
    body = Body(kind=kind, name=name, short_name=short_name, key_prefix=key_prefix, source=source,
                description=description, quorum_rule="majority", is_demo=is_demo)
    db.session.add(body)
    db.session.flush()
    return body, True


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def import_session(tenant, ctx, body: Body, entry: dict[str, Any]) -> Session | None:
    """Create and publish one real session from a data entry (``number``, ``kind``, optional
    ``date``, ``modality``, ``place``, ``summary``, ``attendance``, ``agreements``, ``evidence``,
    ``source``). Returns ``None`` when the session already exists.

    Raises:
        ValueError: an entry without ``number``, ``kind`` or ``source`` (names the entry).
    """
    for key in ("number", "kind", "source"):
        if not entry.get(key):
            raise ValueError(f"session entry {entry.get('number', '?')} of '{body.name}': missing '{key}'")
    exists = db.session.scalar(select(Session.id).where(Session.body_id == body.id, Session.kind == entry["kind"],
                                                        Session.number == entry["number"]))
    if exists is not None:
        return None
    s = Session(body=body, number=entry["number"], kind=entry["kind"], session_date=_date(entry.get("date")),
                modality=entry.get("modality", ""), place=entry.get("place", ""), summary=entry.get("summary", ""),
                source_url=entry["source"], source_note=SOURCE_NOTE, is_demo=False)
    db.session.add(s)
    for i, a in enumerate(entry.get("attendance", []), start=1):
        s.attendance.append(Attendance(name=a["name"], institution=a.get("institution", ""), sector=a.get("sector", ""),
                                       capacity=a.get("capacity", ""), role=ROLES.get(a.get("role", ""), a.get("role", "")),
                                       position=i))
    for i, item in enumerate(entry.get("evidence", []), start=1):
        category, title = EVIDENCE_CATEGORY.get(item, ("other", item))
        s.evidence.append(Evidence(category=category, title=title, url=entry["source"], position=i))
    db.session.flush()
    for ag in entry.get("agreements", []):
        svc.add_agreement(tenant, s, text=ag["text"], vote="", owner="", due_date=None, progress="unknown")
    svc.publish_minutes(tenant, s, user=ctx.user, require_approval=False, publisher=_publisher(ctx))
    return s


def load_real_sessions(tenant, ctx, data: dict[str, Any] | None = None) -> int:
    """Load the real sessions whose ``tenant`` is ``tenant.slug``; returns how many were created.

    The body is created (and published) from the entries' ``body`` name, with its sources.
    """
    data = data or load_data()
    entries = [e for e in data["sessions"] if e.get("tenant") == tenant.slug]
    created = 0
    for name in dict.fromkeys(e["body"] for e in entries):
        group = [e for e in entries if e["body"] == name]
        sources = "\n".join(dict.fromkeys(e["source"] for e in group))
        body, new = _body(name, key_prefix=DEFAULT_PREFIXES.get(tenant.slug, ""), source=sources)
        if new:
            ctx.publish(body, commit=False)
        for entry in sorted(group, key=lambda e: e["number"]):
            if import_session(tenant, ctx, body, entry) is not None:
                created += 1
                ctx.log(f"  {tenant.slug}: sesión {entry['number']} de “{name}” (fuente: {entry['source']})")
        db.session.commit()
    return created


def load_training_sessions(tenant, ctx, data: dict[str, Any] | None = None, commit: bool = True) -> int:
    """Load the Sinaloa STL session 8 (with the date of session 7, its previous session) into a
    training tenant. Returns sessions created.

    Args:
        tenant: a training tenant (the current tenant).
        ctx: :class:`comun_cms.toolkit.DemoContext`; records are published as ``ctx.user``
            (``None`` in the ``training_scenario`` hook: scenario records are published by nobody).
        data: the parsed sessions file (default: :func:`load_data`).
        commit: commit after each body (``comun minutes load-training``); ``False`` only
            flushes and leaves the commit to the caller (the ``training_scenario`` hook).

    Raises:
        ValueError: ``tenant`` is not a training tenant (the Sinaloa facts must never appear in
            the three states' public sites).
    """
    if not tenant.training:
        raise ValueError(f"tenant '{tenant.slug}' is not a training tenant; the Sinaloa session is training material")
    data = data or load_data()
    entries = [e for e in data["sessions"] if e.get("tenant") is None and e.get("jurisdiction") == "Sinaloa"]
    created = 0
    for entry in entries:
        body, new = _body(entry["body"], key_prefix="STL-SIN", source=entry["source"])
        if new:
            ctx.publish(body, commit=False)
        previous = entry.get("previous_session")
        if previous and import_session(tenant, ctx, body, {
                "number": previous["number"], "kind": entry["kind"], "date": previous.get("date"),
                "source": entry["source"]}) is not None:
            created += 1
        if import_session(tenant, ctx, body, entry) is not None:
            created += 1
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    ctx.log(f"  {tenant.slug}: {created} sesión(es) de capacitación (Sinaloa)")
    return created


# --------------------------------------------------------------------------- demo
DEMO_MEMBERS = (
    ("Integrante de gobierno A (ejemplo)", "Secretaría de la Contraloría", "Titular", "government", "member"),
    ("Integrante de gobierno B (ejemplo)", "Secretaría de Finanzas", "Directora de Planeación", "government", "member"),
    ("Integrante de sociedad civil A (ejemplo)", "Organización de la sociedad civil", "Coordinadora", "civil_society", "member"),
    ("Integrante de sociedad civil B (ejemplo)", "Colectivo ciudadano", "Representante", "civil_society", "member"),
    ("Integrante del órgano garante (ejemplo)", "{guarantor}", "Comisionada", "guarantor", "member"),
    ("Suplente de gobierno A (ejemplo)", "Secretaría de la Contraloría", "Director de área", "government", "alternate"),
    ("Persona facilitadora (ejemplo)", "Universidad pública", "Investigadora", "academia", "facilitator"),
)


def _demo_session(tenant, body: Body, kind: str, number: int | None, day: dt.date, hour: int,
                  present: list[Member], topics: list[str]) -> Session:
    s = Session(body=body, kind=kind, number=number, session_date=day, modality="hybrid",
                place="Sala de juntas de la Secretaría Ejecutiva (ejemplo)",
                starts_at=svc.local_to_utc(tenant, day, dt.time(hour, 0)),
                ends_at=svc.local_to_utc(tenant, day, dt.time(hour + 2, 0)),
                summary="Sesión de ejemplo para mostrar cómo se publican las minutas del STL.", is_demo=True)
    db.session.add(s)
    db.session.flush()
    svc.add_standard_agenda(s)
    for topic in topics:
        svc.add_agenda_item(s, "deliberative", topic)
    svc.set_member_attendance(s, {m.id for m in present})
    return s


def load_demo_sessions(tenant, ctx, today: dt.date | None = None) -> int:
    """Load labelled demo sessions (all ``is_demo=True``) into ``tenant``; returns sessions
    created (0 when the demo body already exists)."""
    name = f"Secretariado Técnico Local de Gobierno Abierto de {tenant.state} (ejemplo)"
    body, new = _body(name, description="Órgano de ejemplo: los datos de esta sección son ilustrativos.",
                      source="Dato de ejemplo generado por Común CMS.", is_demo=True)
    if not new:
        return 0
    today = today or svc.tenant_today(tenant)
    term_start = today.replace(year=today.year - 2)
    members = []
    for i, (mname, inst, post, sector, capacity) in enumerate(DEMO_MEMBERS):
        member = Member(name=mname, institution=inst.format(guarantor=tenant.transparency_authority_short), post=post,
                        sector=sector, capacity=capacity, term_start=term_start, position=i, is_demo=True)
        body.members.append(member)
        members.append(member)
    db.session.flush()
    members[5].alternate_for_id = members[0].id
    ctx.publish(body, commit=False)
    seats = members[:5]
    d = dt.timedelta
    inaugural = _demo_session(tenant, body, "inaugural", None, today - d(days=150), 10, seats + [members[6]],
                              ["Instalación formal del Secretariado Técnico Local",
                               "Aprobación de los lineamientos de operación"])
    first = _demo_session(tenant, body, "regular", 1, today - d(days=90), 10, seats[1:] + [members[5], members[6]],
                          ["Calendario de sesiones", "Ruta de cocreación del Plan de Acción Local"])
    second = _demo_session(tenant, body, "regular", 2, today - d(days=30), 11, seats[:4] + [members[6]],
                           ["Avance de las mesas de cocreación"])
    third = _demo_session(tenant, body, "regular", 3, today + d(days=14), 10, [],
                          ["Presentación de la propuesta de compromisos"])
    svc.add_agreement(tenant, inaugural, text="Aprobar los lineamientos de operación del STL.", vote="unanimous",
                      owner="Secretaría técnica del STL", due_date=today - d(days=120))
    a1 = svc.add_agreement(tenant, first, text="Publicar el calendario anual de sesiones.", vote="unanimous",
                           owner="Secretaría técnica del STL", due_date=today - d(days=60))
    a2 = svc.add_agreement(tenant, first, text="Publicar las minutas aprobadas en el sitio del STL.", vote="majority",
                           owner="Secretaría Ejecutiva", due_date=today - d(days=20))
    svc.add_agreement(tenant, first, text="Integrar la propuesta de compromisos del Plan de Acción Local.",
                      vote="unanimous", owner="Mesas de cocreación", due_date=today + d(days=45))
    publisher = _publisher(ctx)
    for minutes, approving in ((inaugural, first), (first, second)):
        svc.submit_for_review(minutes)
        svc.approve(minutes, approving, today=today)
        svc.publish_minutes(tenant, minutes, user=ctx.user, publisher=publisher)
    svc.record_follow_up(inaugural.agreements[0], entry_date=today - d(days=125), progress="done",
                         note="Lineamientos publicados (ejemplo).", user=ctx.user, today=today)
    svc.record_follow_up(a1, entry_date=today - d(days=62), progress="done",
                         note="Calendario publicado en el sitio (ejemplo).", user=ctx.user, today=today)
    svc.record_follow_up(a2, entry_date=today - d(days=25), progress="in_progress",
                         note="Se publicaron dos de tres minutas (ejemplo).", user=ctx.user, today=today)
    svc.publish_call(second, user=ctx.user, publisher=publisher)
    svc.submit_for_review(second)
    svc.publish_call(third, user=ctx.user, publisher=publisher)
    db.session.commit()
    ctx.log(f"  {tenant.slug}: 4 sesiones de ejemplo del STL (Dato de ejemplo)")
    return 4
