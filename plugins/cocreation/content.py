"""Content types of the co-creation plugin: ``cocreation_process``, ``cocreation_problem`` and
``cocreation_tree`` (how each is frozen at publication, titled, linked and indexed), the search
documents of a full reindex and the conformance kit's sample records."""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import ContentType, db, search_document_for

from . import services as svc
from .models import Problem, Process, Tree

PLUGIN = "cocreation"


def serialize_process(process: Process) -> dict:
    """Public content of a process (dates ISO 8601; each step with its link as
    ``content_type:id``)."""
    svc.ensure_steps(process)
    return {
        "title": process.title, "cycle": process.cycle, "summary": process.summary,
        "consultation_opens": process.consultation_opens, "consultation_closes": process.consultation_closes,
        "steps": [{"number": s.number, "starts": s.starts, "ends": s.ends, "note": s.note,
                   "link": f"{s.link_type}:{s.link_id}" if s.link_type and s.link_id else ""}
                  for s in process.steps],
    }


def serialize_problem(problem: Problem) -> dict:
    """Public content of a problem (never the e-mail address)."""
    return {"process_id": problem.process_id, "title": problem.title, "description": problem.description,
            "theme": problem.theme, "municipality": problem.municipality, "source": problem.source,
            "paper_reference": problem.paper_reference}


def serialize_tree(tree: Tree) -> dict:
    """Public content of a tree: the core problem and both outlines as nested lists."""
    roots = svc.outline_data(svc.parse_outline(tree.roots, "roots"))
    branches = svc.outline_data(svc.parse_outline(tree.branches, "branches"))
    return {"problem_id": tree.problem_id, "kind": tree.kind, "core": tree.core,
            "roots": roots, "branches": branches}


def _flatten(nodes: list[dict]) -> list[str]:
    out = []
    for node in nodes:
        out.append(node["text"])
        out.extend(_flatten(node["children"]))
    return out


PROCESS_TYPE = ContentType(
    name="cocreation_process", plugin=PLUGIN, model=Process,
    label=_l("Co-creation process"), label_plural=_l("Co-creation processes"),
    serialize=serialize_process, title=lambda p: p.title,
    url=lambda p: url_for("cocreation.process", tenant=p.tenant_id, process_id=p.id),
    search_document=lambda p: {"title": p.title, "body": f"{p.cycle} {p.summary}".strip(),
                               "status": "published", "date": p.published_at},
    admin_url=lambda p: url_for("admin_cocreation.process", tenant=p.tenant_id, process_id=p.id),
    field_labels={"title": _l("Title"), "cycle": _l("Plan cycle"), "summary": _l("Summary"),
                  "consultation_opens": _l("Consultation opens"), "consultation_closes": _l("Consultation closes"),
                  "steps": _l("Steps")},
)

PROBLEM_TYPE = ContentType(
    name="cocreation_problem", plugin=PLUGIN, model=Problem,
    label=_l("Public problem"), label_plural=_l("Public problems"),
    serialize=serialize_problem, title=lambda p: p.title,
    url=lambda p: url_for("cocreation.problem", tenant=p.tenant_id, problem_id=p.id),
    search_document=lambda p: {"title": p.title, "body": f"{p.description} {p.theme} {p.municipality}".strip(),
                               "status": "published", "date": p.published_at},
    admin_url=lambda p: url_for("admin_cocreation.problems", tenant=p.tenant_id, process_id=p.process_id),
    field_labels={"title": _l("Title"), "description": _l("Description"), "theme": _l("Theme"),
                  "municipality": _l("Municipality"), "source": _l("Source"), "process_id": _l("Process"),
                  "paper_reference": _l("Paper form number")},
)

TREE_TYPE = ContentType(
    name="cocreation_tree", plugin=PLUGIN, model=Tree,
    label=_l("Problem or solution tree"), label_plural=_l("Problem and solution trees"),
    serialize=serialize_tree,
    title=lambda t: f"{'Árbol de problemas' if t.kind == 'problem' else 'Árbol de soluciones'}: {t.core}",
    url=lambda t: url_for("cocreation.problem", tenant=t.tenant_id, problem_id=t.problem_id, _anchor=f"tree-{t.kind}"),
    search_document=lambda t: {"title": t.core, "body": " ".join(
        _flatten(serialize_tree(t)["roots"]) + _flatten(serialize_tree(t)["branches"])),
        "status": "published", "date": t.published_at},
    admin_url=lambda t: url_for("admin_cocreation.trees", tenant=t.tenant_id, problem_id=t.problem_id),
    field_labels={"core": _l("Central problem or objective"), "roots": _l("Causes or means"),
                  "branches": _l("Effects or ends"), "kind": _l("Kind"), "problem_id": _l("Problem")},
)

CONTENT_TYPES = (PROCESS_TYPE, PROBLEM_TYPE, TREE_TYPE)


def search_documents(tenant, types=CONTENT_TYPES):
    """Every published record of ``types`` (default: this module's) in the current tenant as a
    search document."""
    for ct in types:
        for record in db.session.scalars(select(ct.model).where(ct.model.status == "published")):
            doc = search_document_for(ct, record, tenant)
            if doc is not None:
                yield doc


def sample_record(content_type, tenant, marker: str):
    """Conformance kit: an unsaved draft of ``content_type`` whose public text holds ``marker``
    (a problem or tree gets a published parent process/problem created and flushed first)."""
    if content_type.name == "cocreation_process":
        return Process(title=f"Proceso {marker}", cycle="2026–2027", summary=f"Resumen {marker}")
    process = Process(title=f"Proceso de {marker}", cycle="2026–2027")
    db.session.add(process)
    db.session.flush()
    problem = Problem(process_id=process.id, title=f"Problema {marker}", description=f"Descripción {marker}",
                      theme=svc.DEFAULT_THEMES[0], moderation="pending" if content_type.name == "cocreation_problem"
                      else "published")
    if content_type.name == "cocreation_problem":
        return problem
    db.session.add(problem)
    db.session.flush()
    return Tree(problem_id=problem.id, kind="problem", core=f"Árbol {marker}", roots=f"- Causa {marker}",
                branches=f"- Efecto {marker}")
