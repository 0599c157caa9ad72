"""Public pages of the co-creation plugin, under ``/<tenant>/cocreacion/``: the processes and the
timeline of the 13 steps, the consultation form, the published problems by theme, a problem with
its trees and the support form, the support confirmation and the moderation decisions.

Queries are filtered to the current tenant by the core; public pages only show published
records (problems are public once moderation publishes them)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from comun_cms.toolkit import atomic, bump_generation, current_tenant, db, page_arg, public_form_rate_limit

from . import services as svc
from .forms import ConfirmSupportForm, ProblemForm, SupportForm
from .models import STRATEGY_STEPS, CocreationTable, Problem, Process, ResultsMinute, Support

bp = Blueprint("cocreation", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/cocreation", url_prefix="/cocreacion")

PUBLIC = ("published", "retracted")
PER_PAGE = 50
#: ``{step number: callable(process) -> StepLink | None}``: links of the timeline that other
#: modules of the plugin provide (the open call, step 7; the workshops, step 8).
STEP_LINKS: dict = {}


def _public_process(process_id: int) -> Process:
    return db.first_or_404(select(Process).where(Process.id == process_id, Process.status == "published"))


def _support_counts(problem_ids) -> dict[int, int]:
    ids = list(problem_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Support.problem_id, func.count(Support.id)).where(
        Support.problem_id.in_(ids), Support.confirmed_at.is_not(None)).group_by(Support.problem_id))
    return dict(rows.all())


def timeline(process: Process) -> list[dict]:
    """The 13 steps of ``process`` for the templates: ``number``, ``title``, ``starts``,
    ``ends``, ``note``, ``link`` (:class:`~.services.StepLink` or ``None``), ``is_demo``. Steps 5
    and 6 link to the plugin's own consultation and trees when the process has them."""
    steps = {s.number: s for s in process.steps}
    published = db.session.scalar(select(func.count(Problem.id)).where(
        Problem.process_id == process.id, Problem.status == "published")) or 0
    out = []
    for number, title in enumerate(STRATEGY_STEPS, start=1):
        step = steps.get(number)
        link = svc.resolve_link(step.link_type, step.link_id) if step else None
        if link is None and number == 5 and (process.consultation_opens or published):
            link = svc.StepLink(_("Consultation: %(n)d published problems", n=published),
                                url_for("cocreation.problems", process_id=process.id))
        if link is None and number in STEP_LINKS:
            link = STEP_LINKS[number](process)
        if link is None and number == 6 and published:
            link = svc.StepLink(_("Problem and solution trees of the published problems"),
                                url_for("cocreation.problems", process_id=process.id, arboles=1))
        if link is None and number in (9, 10):
            link = _tables_link(process, number)
        out.append({"number": number, "title": title, "starts": step.starts if step else None,
                    "ends": step.ends if step else None, "note": step.note if step else "", "link": link,
                    "is_demo": bool(step and step.is_demo)})
    return out


def _tables_link(process: Process, number: int) -> svc.StepLink | None:
    """Step 9 links the process's published tables, step 10 their published results minutes
    (the list page, anchor ``#minutas``); ``None`` while there are none (see tables.py)."""
    if number == 9:
        n = db.session.scalar(select(func.count(CocreationTable.id)).where(
            CocreationTable.process_id == process.id, CocreationTable.status == "published")) or 0
        label = _("Co-creation tables: %(n)d published", n=n)
        anchor = None
    else:
        n = db.session.scalar(select(func.count(ResultsMinute.id)).join(CocreationTable).where(
            CocreationTable.process_id == process.id, ResultsMinute.status == "published")) or 0
        label = _("Results minutes of the tables: %(n)d published", n=n)
        anchor = "minutas"
    return svc.StepLink(label, url_for("cocreation.tables", process_id=process.id, _anchor=anchor)) if n else None


@bp.get("/")
def index():
    """The tenant's published co-creation processes, newest first."""
    processes = db.session.scalars(select(Process).where(Process.status.in_(PUBLIC))
                                   .order_by(Process.published_at.desc(), Process.id.desc())).all()
    return render_template("cocreation/index.html", processes=processes)


@bp.get("/<int:process_id>")
def process(process_id: int):
    """A process: its consultation dates and the timeline of the 13 steps."""
    record = _public_process(process_id)
    return render_template("cocreation/process.html", process=record, steps=timeline(record),
                           state=svc.consultation_state(record))


@bp.route("/<int:process_id>/consulta", methods=["GET", "POST"])
@public_form_rate_limit
def consult(process_id: int):
    """The public problem form, open between the process's two dates (else it says when).
    Protected like the core's public forms: rate limit, honeypot and time trap."""
    record = _public_process(process_id)
    state = svc.consultation_state(record)
    form = ProblemForm()
    form.theme.choices = [("", _("Choose a theme"))] + [(t, t) for t in svc.themes()]
    if state != "open":
        return render_template("cocreation/consult.html", process=record, form=None, state=state), \
            (200 if request.method == "GET" else 409)
    if request.method == "POST":
        outcome = form.check_submission()
        if outcome == "spam":   # answer as if it worked, store nothing
            return render_template("cocreation/consult_done.html", process=record, problem=None)
        if outcome == "ok":
            with atomic():
                problem = Problem(process_id=record.id, title=form.title.data, description=form.description.data,
                                  theme=form.theme.data, municipality=form.municipality.data or "",
                                  email=(form.email.data or "").lower(), source="online", **form.consent_fields())
                db.session.add(problem)
            return render_template("cocreation/consult_done.html", process=record, problem=problem)
    form.issue_token()
    status = 422 if request.method == "POST" else 200
    return render_template("cocreation/consult.html", process=record, form=form, state=state), status


@bp.get("/<int:process_id>/problemas")
def problems(process_id: int):
    """Published problems of a process, grouped by theme (``?tema=`` keeps one theme)."""
    record = _public_process(process_id)
    theme = request.args.get("tema", "")
    query = select(Problem).where(Problem.process_id == record.id, Problem.status == "published")
    if theme:
        query = query.where(Problem.theme == theme)
    page = page_arg()
    rows = db.session.scalars(query.order_by(Problem.theme, Problem.id).limit(PER_PAGE + 1)
                              .offset((page - 1) * PER_PAGE)).all()
    has_next = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    groups: dict[str, list[Problem]] = {}
    for row in rows:
        groups.setdefault(row.theme, []).append(row)
    theme_counts = db.session.execute(select(Problem.theme, func.count(Problem.id)).where(
        Problem.process_id == record.id, Problem.status == "published").group_by(Problem.theme)
        .order_by(Problem.theme)).all()
    return render_template("cocreation/problems.html", process=record, groups=groups, theme=theme,
                           theme_counts=theme_counts, counts=_support_counts(r.id for r in rows), page=page,
                           has_next=has_next)


@bp.get("/<int:process_id>/decisiones")
def decisions(process_id: int):
    """Moderation decisions that are public: rejected problems (reason only, never the text)
    and duplicates merged into a published problem."""
    record = _public_process(process_id)
    rows = db.session.scalars(select(Problem).where(
        Problem.process_id == record.id, Problem.moderation.in_(("rejected", "merged")))
        .order_by(Problem.moderated_at.desc(), Problem.id.desc()).limit(500)).all()
    return render_template("cocreation/decisions.html", process=record, rows=rows)


@bp.route("/problemas/<int:problem_id>", methods=["GET", "POST"])
@public_form_rate_limit
def problem(problem_id: int):
    """A published problem, its trees and the support form (POST asks for a support; rate limit,
    honeypot and time trap like the core's public forms)."""
    record = db.session.scalar(select(Problem).where(Problem.id == problem_id))
    if record is None or record.status not in PUBLIC:
        if record is not None and record.moderation == "merged" and record.merged_into_id:
            return redirect(url_for(".problem", problem_id=record.merged_into_id), code=301)
        abort(404)
    form = SupportForm()
    sent = None
    if record.status == "published" and request.method == "POST":
        outcome = form.check_submission()
        if outcome == "spam":   # answer as if it worked, store and send nothing
            sent = "sent"
        elif outcome == "ok":
            with atomic():
                sent = svc.request_support(record, form.email.data, form.consent_fields())
    form.issue_token()
    trees = {kind: tree for kind in ("problem", "solution")
             if (tree := svc.tree_for(record, kind)) is not None and tree.status == "published"}
    outlines = {kind: {"roots": svc.parse_outline(t.roots, "roots"), "branches": svc.parse_outline(t.branches, "branches")}
                for kind, t in trees.items()}
    merged = db.session.scalars(select(Problem).where(Problem.merged_into_id == record.id)).all()
    status = 422 if request.method == "POST" and sent is None else 200
    return render_template("cocreation/problem.html", problem=record, form=form, sent=sent, trees=trees,
                           outlines=outlines, supports=svc.support_count(record.id), merged=merged), status


@bp.route("/apoyos/confirmar/<token>", methods=["GET", "POST"])
def confirm_support(token: str):
    """Double opt-in: the mailed link shows a button; posting it counts the support once."""
    row = svc.support_for_token(token)
    form = ConfirmSupportForm()
    if row is None:
        return render_template("cocreation/confirm.html", row=None, form=None, done=None), 404
    problem = db.session.get(Problem, row.problem_id)
    done = None
    if form.validate_on_submit():
        with atomic():
            done = svc.confirm_support(row)
            bump_generation(current_tenant.slug)
    return render_template("cocreation/confirm.html", row=row, problem=problem, form=form, done=done)
