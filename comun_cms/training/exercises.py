"""Training exercises: the 13 steps of the local open-government strategy and "check my work".

* :func:`exercises` gives the 13 exercises, one per step of the local strategy
  (``local_strategy_steps`` in shared/data/stl_sessions.json). Plugins contribute
  :class:`~comun_cms.hooktypes.TrainingTask` objects through the ``training_tasks`` hook (record
  the STL installation session, co-create a plan with five commitments, report progress,
  evaluate criteria, verify a receipt); the other steps have the core's task "write and publish
  a page" (:data:`CORE_TASKS`).
* :func:`check_exercise` / :func:`progress` run the tasks' checks in a participant's workspace
  (reads only); :func:`participant_publications` is the helper the plugins' checks use.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import LazyString, gettext as _
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.hooktypes import CheckItem, Participant, TrainingTask
from comun_cms.models import Page, Publication
from comun_cms.plugins import tenant_hook
from comun_cms.publishing import publish
from comun_cms.site import get_section
from comun_cms.tenancy import Tenant, tenant_context

__all__ = ["CORE_TASKS", "EXERCISES", "STEPS", "STRATEGY_DATA", "CheckResult", "Exercise", "TrainingError",
           "check_exercise", "exercises", "get_exercise", "page_slug", "participant_publications", "progress",
           "strategy_steps"]

STRATEGY_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "stl_sessions.json"
#: Steps of the local strategy (fallback when shared/data is not beside the project).
STEPS = (
    "Firma de la Declaratoria de Gobierno Abierto",
    "Convocatoria abierta para conformar el Secretariado Técnico Local",
    "Convocatoria para incorporar a una persona facilitadora",
    "Acta de instalación del Secretariado Técnico Local",
    "Consulta, encuesta o recolección de opiniones",
    "Árbol de problemas y de soluciones",
    "Convocatoria abierta para participar en las mesas de cocreación",
    "Talleres de sensibilización",
    "Instalación de mesas de cocreación",
    "Acta de resultados de las mesas de cocreación",
    "Publicación del Plan de Acción",
    "Página web con la información del ejercicio y avances del Plan de Acción",
    "Informe intermedio y final de cumplimiento del Plan de Acción",
)


class TrainingError(Exception):
    """Training operation refused; ``str(error)`` says why (e.g. not a training tenant)."""


def participant_publications(participant: Participant, content_type: str) -> list[Publication]:
    """Publications of ``content_type`` made in the current tenant (the participant's workspace)
    by the participant's accounts, newest first. Scenario records (published by nobody) are not
    included. Call inside ``tenant_context(participant.workspace)``."""
    if not participant.user_ids:
        return []
    return list(db.session.scalars(select(Publication).where(
        Publication.content_type == content_type,
        Publication.published_by_id.in_(participant.user_ids)).order_by(Publication.id.desc())))


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``number`` (1–13), ``step`` (the strategy step) and its ``tasks``."""

    number: int
    step: str
    tasks: tuple[TrainingTask, ...]

    @property
    def goals(self) -> tuple[str, ...]:
        """Every task's goals, in order."""
        return tuple(g for task in self.tasks for g in task.goals)

    @property
    def steps(self) -> tuple[str, ...]:
        """Every task's steps, in order."""
        return tuple(s for task in self.tasks for s in task.steps)


@dataclass
class CheckResult:
    """Result of :func:`check_exercise`: ``groups`` (each task with its items) and ``done``."""

    exercise: Exercise
    groups: list[tuple[TrainingTask, list[CheckItem]]] = field(default_factory=list)

    @property
    def items(self) -> list[CheckItem]:
        """Every item of every task."""
        return [item for _task, items in self.groups for item in items]

    @property
    def done(self) -> bool:
        return bool(self.items) and all(i.done for i in self.items)


# --------------------------------------------------------------------------- exercises
_SPEC = (  # section, keywords, what the page is
    ("links", ("declaratoria", "firma"), "la Declaratoria de Gobierno Abierto firmada"),
    ("join", ("convocatoria", "requisitos", "fecha"), "la convocatoria para conformar el STL"),
    ("join", ("facilitadora", "perfil"), "la convocatoria para la persona facilitadora"),
    ("minutes", ("acta", "instalación", "integrantes"), "el acta de instalación del STL"),
    ("feedback", ("consulta", "resultados"), "los resultados de la consulta ciudadana"),
    ("commitments", ("problema", "causas", "soluciones"), "el árbol de problemas y de soluciones"),
    ("join", ("mesas", "cocreación", "registro"), "la convocatoria a las mesas de cocreación"),
    ("minutes", ("taller", "participantes"), "la memoria de un taller de sensibilización"),
    ("minutes", ("mesa", "instalación"), "la instalación de las mesas de cocreación"),
    ("minutes", ("acta", "resultados", "propuestas"), "el acta de resultados de las mesas"),
    ("commitments", ("plan de acción", "compromisos"), "el Plan de Acción Local"),
    ("links", ("avances", "página"), "la página del ejercicio con sus avances"),
    ("commitments", ("informe", "cumplimiento"), "el informe de cumplimiento del plan"),
)


def strategy_steps() -> tuple[str, ...]:
    """The 13 steps from ``local_strategy_steps`` in shared/data/stl_sessions.json (or the
    built-in copy :data:`STEPS` when the file is not available)."""
    try:
        data = json.loads(STRATEGY_DATA.read_text(encoding="utf-8"))
        steps = tuple(data["local_strategy_steps"]["steps"])
        if len(steps) == len(_SPEC):
            return steps
    except (OSError, KeyError, ValueError):
        pass
    return STEPS


def page_slug(number: int) -> str:
    """Address of the participant's page for the core task of exercise ``number`` (``paso-04``)."""
    return f"paso-{number:02d}"


def ui_text(template: str, **names) -> LazyString:
    """Exercise text that quotes the interface: ``template`` (Spanish, *usted*) with ``{name}``
    fields filled, when shown, from the same sources the interface uses, in the user's language.

    Each keyword is a zero-argument callable or a lazy string: a section's title
    (``get_section(key).title``, what the section dropdown shows), a menu label (``_("Pages")``),
    a button label (``_("Check my work")``). Returns a lazy string (``str()`` renders it).
    """
    return LazyString(lambda: template.format(**{k: str(v() if callable(v) else v) for k, v in names.items()}))


def section_title(key: str) -> LazyString:
    """The title of site section ``key`` as the interface shows it (lazy)."""
    return LazyString(lambda: str(get_section(key).title))


def _page_task(number: int, step: str, section: str, keywords: tuple[str, ...], what: str) -> TrainingTask:
    slug = page_slug(number)

    def check(participant: Participant) -> list[CheckItem]:
        page = db.session.scalar(select(Page).where(Page.slug == slug))
        items = [CheckItem(_("A page with the address “%(slug)s” exists", slug=slug), page is not None,
                           _("Create it in Administration → Pages."))]
        if page is None:
            return items
        items.append(CheckItem(_("It is in the section “%(section)s”", section=section_title(section)),
                               page.section == section,
                               _("Change the page's section.")))
        text = f"{page.title} {page.summary} {page.body}".lower()
        for keyword in keywords:
            items.append(CheckItem(_("The text mentions “%(word)s”", word=keyword), keyword.lower() in text,
                                   _("Add it to the text and save.")))
        published = bool(participant.user_ids) and db.session.scalar(select(Publication.id).where(
            Publication.content_type == "page", Publication.record_id == str(page.id),
            Publication.published_by_id.in_(participant.user_ids))) is not None
        items.append(CheckItem(_("You published it"), published, _("Publish the page (or publish a correction).")))
        return items

    def solve(participant: Participant) -> None:
        page = db.session.scalar(select(Page).where(Page.slug == slug))
        if page is None:
            page = Page(slug=slug, language="es")
            db.session.add(page)
        page.title = f"Paso {number}: {step}"
        page.section = section
        page.summary = f"Respuesta modelo: {what}."
        page.body = f"Respuesta modelo del ejercicio {number}: {what}. Menciona: {', '.join(keywords)}.\n"
        db.session.flush()
        publish(page, user=participant.editor, commit=False)

    return TrainingTask(
        step=number, key=f"core.page_{number:02d}", title=f"Publique {what}",
        goals=(f"Practicar el paso {number} de la estrategia local: {step}.",
               f"Redactar y publicar en su espacio de práctica {what}.",
               "Comprobar que lo publicado queda registrado con su versión y su huella (SHA-256)."),
        steps=(ui_text("Entre a {admin} → {pages}, pulse «{new}» y escriba la dirección «" + slug + "».",
                       admin=lambda: _("Administration"), pages=lambda: _("Pages"), new=lambda: _("New page")),
               ui_text("En «{field}» elija «{section}».", field=lambda: _("Section"),
                       section=section_title(section)),
               "Escriba el texto; mencione: " + ", ".join(f"«{k}»" for k in keywords) + ".",
               ui_text("Pulse «{save}», revise el borrador y publíquelo.", save=lambda: _("Save draft")),
               ui_text("Abra «{check}» de este ejercicio.", check=lambda: _("Check my work"))),
        check=check, solve=solve, start_endpoint="admin.page_new")


#: The core's tasks, one per step ("write and publish a page").
CORE_TASKS: tuple[TrainingTask, ...] = tuple(
    _page_task(n, step, *spec) for n, (step, spec) in enumerate(zip(strategy_steps(), _SPEC), 1))


def exercises(tenant: Tenant | None = None) -> tuple[Exercise, ...]:
    """The 13 exercises. With ``tenant`` (inside an application), a step gets the
    ``training_tasks`` of the plugins ``tenant`` enables when there are any, otherwise the core's
    page task; without one, only the core's tasks.

    Raises:
        TrainingError: a plugin task with a step outside 1–13 or a duplicate key.
    """
    by_step: dict[int, list[TrainingTask]] = {}
    if tenant is not None:
        seen: set[str] = set()
        for result in tenant_hook(tenant, "training_tasks")():
            for task in result or []:
                if not 1 <= task.step <= len(CORE_TASKS):
                    raise TrainingError(f"training task '{task.key}' has step {task.step}; steps go from 1 to {len(CORE_TASKS)}")
                if task.key in seen:
                    raise TrainingError(f"two training tasks have the key '{task.key}'")
                seen.add(task.key)
                by_step.setdefault(task.step, []).append(task)
    steps = strategy_steps()
    return tuple(Exercise(number=n, step=steps[n - 1], tasks=tuple(by_step.get(n) or (CORE_TASKS[n - 1],)))
                 for n in range(1, len(CORE_TASKS) + 1))


#: The exercises with the core's tasks only (for listings outside an application).
EXERCISES: tuple[Exercise, ...] = exercises()


def get_exercise(number: int, tenant: Tenant | None = None) -> Exercise:
    """Return exercise ``number`` (1–13) of :func:`exercises` for ``tenant``.

    Raises:
        TrainingError: no such exercise.
    """
    if not 1 <= number <= len(CORE_TASKS):
        raise TrainingError(f"there is no exercise {number}; exercises go from 1 to {len(CORE_TASKS)}")
    return exercises(tenant)[number - 1]


# --------------------------------------------------------------------------- check my work
def check_exercise(who: Participant, exercise: int | Exercise) -> CheckResult:
    """Inspect ``who``'s workspace for one exercise (every task's ``check``). Nothing is changed.

    Raises:
        TrainingError: unknown exercise number.
    """
    ex = exercise if isinstance(exercise, Exercise) else get_exercise(exercise, who.workspace)
    result = CheckResult(ex)
    with tenant_context(who.workspace):
        for task in ex.tasks:
            result.groups.append((task, list(task.check(who))))
    return result


def progress(who: Participant) -> list[CheckResult]:
    """:func:`check_exercise` for every exercise."""
    return [check_exercise(who, ex) for ex in exercises(who.workspace)]
