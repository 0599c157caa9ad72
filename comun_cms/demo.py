"""``comun demo``: real documents, each plugin's real and demo content, demo users.

Real documents (``comun_cms/demo_data/documents``, copied from the project's public sources):
the Estado de México action-plan progress report goes to ``edomex``; the four documents about
the observatory and open government in general are published on every tenant, in the
"Links of interest" section, because each state's STL site must offer them. Everything that is
invented is created with ``is_demo=True`` and shown as "Dato de ejemplo".

Running ``comun demo`` again creates nothing twice: every loader looks its records up first.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Callable

from flask import Flask
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.hooktypes import DemoContext
from comun_cms.models import Page, User
from comun_cms.plugins import tenant_hook
from comun_cms.tenancy import Tenant, tenant_context
from comun_cms.users import create_user

__all__ = ["DATA_DIR", "DOCUMENTS", "DemoContext", "clean_ocr_text", "demo_logins_path", "ensure_demo_users", "load_documents",
           "run_demo", "summarize"]

DATA_DIR = Path(__file__).parent / "demo_data"

#: file -> (slug, title, tenants ("*" = every tenant), section)
DOCUMENTS = {
    "edomex-pal-2021-avances-infoem.txt": (
        "pal-2021-avances-compromiso-proactivo-infoem",
        "Plan de Acción Local de Gobierno Abierto 2021: avances del compromiso proactivo del INFOEM",
        ("edomex",), "commitments"),
    "comun-observatorio-pnud.txt": (
        "proyecto-comun-observatorio-ciudadano",
        "Proyecto CO+MÚN: juntos y juntas contra la corrupción", "*", "links"),
    "gobierno-abierto-desde-lo-local-pnud.txt": (
        "gobierno-abierto-desde-lo-local-pnud",
        "Gobierno abierto desde lo local para el desarrollo sostenible (PNUD)", "*", "links"),
    "cocreacion-desde-lo-local-taller.txt": (
        "cocreacion-desde-lo-local-taller",
        "Gobierno abierto: co-creación desde lo local (taller con estados piloto)", "*", "links"),
    "apertura-institucional-diplomado.txt": (
        "apertura-institucional-diplomado",
        "Apertura institucional: una transición del gobierno al Estado abierto (módulo de diplomado)", "*", "links"),
}


def clean_ocr_text(text: str) -> str:
    """Turn text extracted from a PDF into readable Markdown paragraphs.

    Drops lines made only of punctuation (``+``, ``*``), collapses runs of blank lines, escapes
    characters that Markdown would read as markup at the start of a line (``#``, ``+``, ``>``),
    and keeps explicit bold/list markup that the extraction produced.
    """
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if re.fullmatch(r"\s*[+*·•_=\-]{1,3}\s*", line):
            line = ""
        if line and line.lstrip()[:1] in "#+>" and not line.lstrip().startswith("**"):
            line = "\\" + line.lstrip()
        out.append(line)
    joined = "\n".join(out).strip()
    return re.sub(r"\n{3,}", "\n\n", joined) + "\n"


def summarize(text: str, limit: int = 280) -> str:
    """First sentences of a document's plain text, at most ``limit`` characters."""
    plain = re.sub(r"[*#\\]", "", re.sub(r"\s+", " ", text)).strip()
    if len(plain) <= limit:
        return plain
    cut = plain[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def load_documents(tenant: Tenant, ctx: DemoContext) -> int:
    """Publish the real documents that belong to ``tenant`` as pages. Returns pages created."""
    created = 0
    for filename, (slug, title, tenants, section) in DOCUMENTS.items():
        if tenants != "*" and tenant.slug not in tenants:
            continue
        if tenant.training and tenants == "*":
            continue
        if db.session.scalar(select(Page.id).where(Page.slug == slug)) is not None:
            continue
        body = clean_ocr_text((DATA_DIR / "documents" / filename).read_text(encoding="utf-8"))
        page = Page(slug=slug, title=title, summary=summarize(body), body=body, section=section, language="es",
                    source=f"Documento público, texto extraído de PDF: {filename}", is_demo=False)
        db.session.add(page)
        ctx.publish(page)
        created += 1
        ctx.log(f"  {tenant.slug}: page “{title}”")
    return created


def demo_logins_path(app: Flask) -> Path:
    """``instance/demo_logins.txt``: the demo accounts' generated passwords (mode 0600)."""
    return Path(app.instance_path) / "demo_logins.txt"


def ensure_demo_users(app: Flask, tenants: list[Tenant]) -> list[tuple[str, str, str]]:
    """Create demo users (admin, editor, evaluator per tenant; trainer on training tenants) with
    random passwords saved in ``instance/demo_logins.txt``. Returns ``[(email, password, role)]``
    for every demo account, including ones created by earlier runs."""
    path = demo_logins_path(app)
    known: dict[str, tuple[str, str]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                known[parts[0]] = (parts[1], parts[2])
    logins = []
    for tenant in tenants:
        roles = ["admin", "editor", "evaluator"] + (["trainer"] if tenant.training else [])
        for role in roles:
            email = f"{role}@{tenant.slug}.demo.comun.mx"
            password = known.get(email, (secrets.token_urlsafe(9),))[0]
            create_user(email, password=password, role=role, tenant=tenant, name=f"{role.title()} {tenant.short_name} (demo)",
                        is_demo=True)
            known[email] = (password, f"{role}@{tenant.slug}")
            logins.append((email, password, f"{role} · {tenant.slug}"))
    path.parent.mkdir(parents=True, exist_ok=True)  # the instance folder is made by what writes in it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        for email, (password, role) in sorted(known.items()):
            fh.write(f"{email}\t{password}\t{role}\n")
    return logins


def run_demo(app: Flask, tenants: list[Tenant] | None = None, log: Callable[[str], None] = print) -> list[tuple[str, str, str]]:
    """Load demo and real content into ``tenants`` (default: all) through every enabled plugin's
    ``demo_data`` hook; returns the demo logins ``[(email, password, role)]``. Participant
    workspaces of training tenants are left out by default."""
    # participant workspaces get their material from `comun training participants`
    tenants = tenants or [t for t in app.extensions["comun"].tenants.values() if not t.is_workspace]
    logins = ensure_demo_users(app, tenants)
    for tenant in tenants:
        log(f"{tenant.state} ({tenant.slug})")
        with tenant_context(tenant):
            editor = db.session.scalar(select(User).where(User.email == f"editor@{tenant.slug}.demo.comun.mx"))
            ctx = DemoContext(tenant=tenant, user=editor, log=log)
            tenant_hook(tenant, "demo_data")(tenant=tenant, ctx=ctx)
            db.session.commit()
    service = app.extensions["comun"].search
    if service is not None:
        n = service.drain_outbox()
        log(f"Search: {n} change(s) indexed.")
    return logins
