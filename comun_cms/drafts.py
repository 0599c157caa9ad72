"""Editing that forgives: drafts of the next version of a published record.

Editing a published record (a page, an STL session, a commitment...) does not change what the
public sees. The edited values are kept in a :class:`~comun_cms.models.Draft` row; the record
keeps its published content until an editor chooses "Publicar cambios", which applies the draft
and publishes it as a **correction with a reason** through :func:`comun_cms.publishing.correct`
(the one publishing workflow: one new version, one ``on_publish`` event, one notary leaf).

The pieces, used the same way by the core's pages and by plugins (through the toolkit):

* :func:`get_draft`, :func:`save_draft`, :func:`discard_draft`: the pending changes of a record;
* :func:`edit_values`: what the editor form shows (the record's values with the draft over them);
* :func:`diff_values` / :class:`ValueChange`: the changes against the published version, as an
  accessible word-level diff (``<del>``/``<ins>`` with hidden "removed"/"added" words for screen
  readers), computed with :class:`difflib.SequenceMatcher` of the standard library;
* :func:`publish_draft`: apply the draft, publish the correction and delete the draft, in the
  caller's transaction.

Values are JSON-safe (strings, numbers, booleans, ``None``, lists and dicts of them).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from comun_cms.content_types import content_type_for, jsonable
from comun_cms.extensions import db
from comun_cms.models import Draft, Publication, User
from comun_cms.publishing import PublishError, correct

__all__ = ["ValueChange", "diff_values", "discard_draft", "edit_values", "get_draft", "publish_draft",
           "save_draft", "text_diff"]


def _key(record: Any) -> tuple[str, str]:
    if record.id is None:
        raise ValueError("a draft belongs to a stored record (flush it first)")
    return content_type_for(record).name, str(record.id)


def get_draft(record: Any) -> Draft | None:
    """Return the pending changes of ``record`` (a content record of the current tenant), or
    ``None`` when it has none."""
    content_type, record_id = _key(record)
    return db.session.scalar(select(Draft).where(Draft.content_type == content_type, Draft.record_id == record_id))


def save_draft(record: Any, data: Mapping[str, Any], *, user: User | None = None,
               keep_all: bool = False) -> Draft | None:
    """Store ``data`` (``{field: value}``) as the pending changes of ``record``.

    Fields whose value equals the record's current (published) value are left out; when no field
    differs, an existing draft is deleted and ``None`` is returned. Nothing is committed: call it
    inside :func:`comun_cms.changes.admin_change` (or commit yourself).

    Args:
        record: a stored content record of the current tenant (published, usually).
        data: the edited values, JSON-safe; keys are attribute names of ``record`` (or, with
            ``keep_all``, anything the caller reads back, e.g. the submitted form fields).
        user: who edited (stored as ``updated_by``).
        keep_all: store ``data`` whole, without comparing it with the record (the caller has
            checked that something changed, e.g. with :func:`diff_values`).

    Returns:
        The :class:`~comun_cms.models.Draft` row, or ``None`` when nothing differs.
    """
    content_type, record_id = _key(record)
    changed = {name: jsonable(value) for name, value in data.items()
               if keep_all or jsonable(value) != jsonable(getattr(record, name, None))}
    draft = get_draft(record)
    if not changed:
        if draft is not None:
            db.session.delete(draft)
        return None
    if draft is None:
        draft = Draft(content_type=content_type, record_id=record_id)
        db.session.add(draft)
    draft.data = changed
    draft.base_version = int(getattr(record, "version", 0) or 0)
    draft.updated_by_id = user.id if user is not None else None
    return draft


def discard_draft(record: Any) -> bool:
    """Delete the pending changes of ``record``; returns ``True`` if there were any (not committed)."""
    draft = get_draft(record)
    if draft is None:
        return False
    db.session.delete(draft)
    return True


def edit_values(record: Any, fields: Iterable[str], draft: Draft | None = None) -> dict[str, Any]:
    """The values an editor form shows: ``{field: value}`` of ``record`` with the draft's over them.

    ``draft`` defaults to :func:`get_draft` of the record.
    """
    draft = draft if draft is not None else get_draft(record)
    pending = draft.data if draft is not None else {}
    return {name: pending[name] if name in pending else getattr(record, name, None) for name in fields}


def _words(text: str) -> list[str]:
    # words and the whitespace after them stay together, so line breaks survive the diff
    return re.findall(r"\S+\s*|\s+", text)


def text_diff(old: str, new: str) -> Markup:
    """Word-level diff of two texts as safe HTML: removed words in ``<del>``, added words in
    ``<ins>``, each introduced by a visually hidden "removed:"/"added:" label so a screen reader
    says what changed (``<del>``/``<ins>`` alone are not announced). Text is escaped.

    Algorithm: :class:`difflib.SequenceMatcher` (Ratcliff/Obershelp) over words, ``autojunk`` off.
    """
    a, b = _words(old or ""), _words(new or "")
    removed = Markup('<span class="visually-hidden">%s </span>') % _("[removed:]")
    added = Markup('<span class="visually-hidden">%s </span>') % _("[added:]")
    parts: list[Markup] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(escape("".join(a[i1:i2])))
        if op in ("delete", "replace"):
            parts.append(Markup("<del>%s%s</del>") % (removed, "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            parts.append(Markup("<ins>%s%s</ins>") % (added, "".join(b[j1:j2])))
    return Markup("").join(parts)


def _text(value: Any, choices: Mapping[Any, Any] | None) -> str:
    if choices and value in choices:
        return str(choices[value])
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v, choices) for v in value)
    return str(value)


@dataclass(frozen=True)
class ValueChange:
    """One field changed by a draft: ``field`` (attribute name), ``label`` (translated field
    name to show), ``old`` and ``new`` (text as shown to people) and ``html`` (safe word-level
    diff of :func:`text_diff`)."""

    field: str
    label: str
    old: str
    new: str
    html: Markup


def diff_values(before: Mapping[str, Any], after: Mapping[str, Any], labels: Mapping[str, Any],
                choices: Mapping[str, Mapping[Any, Any]] | None = None) -> list[ValueChange]:
    """The changes from ``before`` (the published values) to ``after`` (the draft's).

    Args:
        before / after: ``{field: value}``; a field missing from ``after`` is unchanged.
        labels: ``{field: label}``, the translated names shown for each field (a field without
            a label is shown with its attribute name).
        choices: optional ``{field: {value: label}}`` so coded values (a section key, a status)
            show as the words the form uses.

    Returns:
        The changed fields in the order of ``labels`` (then any other field, sorted).
    """
    choices = choices or {}
    order = list(labels) + sorted(set(after) - set(labels))
    changes = []
    for name in order:
        if name not in after or jsonable(after[name]) == jsonable(before.get(name)):
            continue
        old, new = _text(before.get(name), choices.get(name)), _text(after[name], choices.get(name))
        if old == new:  # e.g. None and "": the same to a reader
            continue
        changes.append(ValueChange(name, str(labels.get(name, name)), old, new, text_diff(old, new)))
    return changes


def publish_draft(record: Any, *, reason: str, apply: Callable[[Any, Mapping[str, Any]], None] | None = None,
                  user: User | None = None) -> Publication:
    """Publish the draft of ``record`` as a correction ("Publicar cambios").

    Applies the draft's values to the record (``apply(record, data)``, default: ``setattr`` of
    each field), deletes the draft and calls :func:`comun_cms.publishing.correct` with
    ``commit=False``: run it inside :func:`comun_cms.changes.admin_change` so the new version,
    its ``on_publish`` listeners (notary, search) and the audit event commit together.

    Raises:
        PublishError: the record has no draft, the reason is empty, the record is not published,
            or a listener failed (the caller's transaction is rolled back).
    """
    draft = get_draft(record)
    if draft is None:
        raise PublishError(_("There are no unpublished changes to publish."))
    if not (reason or "").strip():
        raise PublishError(_("Explain the reason for the changes; it is published with the new version."))
    data = dict(draft.data or {})
    if apply is None:
        for name, value in data.items():
            setattr(record, name, value)
    else:
        apply(record, data)
    db.session.delete(draft)
    return correct(record, reason=reason, user=user, commit=False)
