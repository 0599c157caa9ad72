"""Editing that forgives, the request side: autosave, the unsaved-changes warning and the Markdown
preview, one mechanism for every admin editor of the core and of the plugins.

Three pieces, always used together (docs/plugins.md, "Editors: autosave and Markdown preview"):

* **template**: the editor's ``<form>`` comes from the ``editor_form`` macro of
  ``admin/_editing.html`` (``data-editor``: warn before leaving with unsaved changes;
  ``data-autosave``: save automatically while someone types; the status line where the script
  says "Saved automatically at 10:32"); a :class:`MarkdownField` is rendered by the ``field``
  macro of ``admin/_forms.html`` with its preview beside it and a "Preview" button;
* **script**: ``themes/comun/static/js/editing.js`` (loaded by every admin page) warns on
  ``beforeunload``, posts the form every :data:`AUTOSAVE_SECONDS` seconds while it has unsaved
  changes, with ``autosave=1``, and refreshes a Markdown preview as the person types
  (:func:`comun_cms.views.admin.markdown_preview`);
* **view** (the "autosave endpoint pattern"): the editor's own POST URL serves the three
  buttons. :func:`is_autosave` says the script sent it: the view validates and saves exactly as
  for the "Save" button, then answers :func:`autosave_reply` (JSON) instead of a redirect.
  :func:`wants_preview` says the "Preview" button (no JavaScript) sent it: the view stores
  nothing and renders the editor again with the submitted form; the ``field`` macro then shows
  :func:`preview_of` the field beside the text.

Everything works without JavaScript: autosave and the live preview are improvements only.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import g, has_request_context, jsonify, request
from flask_babel import gettext as _
from markupsafe import Markup
from wtforms import TextAreaField

from comun_cms.models import utcnow
from comun_cms.richtext import render_markdown

__all__ = ["AUTOSAVE_FIELD", "AUTOSAVE_SECONDS", "PREVIEW_FIELD", "PREVIEW_MAX", "MarkdownField", "autosave_reply",
           "form_error_list", "init_app", "is_autosave", "preview_of", "previewed_here", "wants_preview"]

#: Form field the script adds to an automatic save (value ``"1"``).
AUTOSAVE_FIELD = "autosave"
#: Name of the "Preview" button; its value is the name of the field to preview.
PREVIEW_FIELD = "preview"
#: Seconds between automatic saves while a form has unsaved changes.
AUTOSAVE_SECONDS = 30
#: Characters of Markdown a preview renders at most (longer text is cut for the preview only).
PREVIEW_MAX = 200_000


class MarkdownField(TextAreaField):
    """A ``<textarea>`` of Markdown published through :func:`comun_cms.richtext.render_markdown`.

    Declared like a ``TextAreaField``; the admin ``field`` macro renders it with a preview
    beside it (below it on a phone), a "Preview" button (``name="preview"``, value the field's
    name) and, with JavaScript, a live preview. The field's value is the Markdown source (a
    ``str``)."""


def is_autosave() -> bool:
    """``True`` when the current request is an automatic save sent by ``js/editing.js``
    (a POST with ``autosave=1``): the view answers :func:`autosave_reply`."""
    return has_request_context() and request.method == "POST" and request.form.get(AUTOSAVE_FIELD) == "1"


def wants_preview(form: Any = None) -> bool:
    """``True`` when the "Preview" button of a Markdown text sent the form (a POST naming a
    field in ``preview``, not an automatic save): the view stores nothing and renders the editor
    again with the submitted form.

    Args:
        form: when given, only a preview of one of its :class:`MarkdownField` (by name, or
            ``preview=all``) counts, so another button that happens to be called ``preview``
            (e.g. the preview of a table to import) is left alone.
    """
    if not (has_request_context() and request.method == "POST" and not is_autosave()):
        return False
    value = request.form.get(PREVIEW_FIELD)
    if not value:
        return False
    if form is None:
        return True
    return any(isinstance(f, MarkdownField) and value in (f.name, "all") for f in form)


def previewed_here(action: str | None = None) -> bool:
    """``True`` when the current request is the "Preview" button of the form that posts to
    ``action`` (a URL, its fragment ignored; ``None``: the page's own address). The
    ``editor_form`` macro then says nothing was saved yet and marks the form unsaved."""
    return wants_preview() and (not action or urlsplit(action).path == request.path)


def preview_of(field: Any) -> Markup | None:
    """The sanitized HTML preview of ``field`` (a :class:`MarkdownField`) when the current
    request is the "Preview" button of that field (or of ``preview=all``), else ``None``.

    The text is rendered with :func:`comun_cms.richtext.render_markdown`, the renderer of the
    public pages (CommonMark, raw HTML escaped, nh3 allow-list)."""
    if not wants_preview() or request.form.get(PREVIEW_FIELD) not in (field.name, "all"):
        return None
    g.comun_markdown_preview = True  # see _preview_is_not_refusal
    return render_markdown((field.data or "")[:PREVIEW_MAX])


def _preview_is_not_refusal(response):
    # a view shows the form again after the "Preview" button as after a refused form (422):
    # the preview itself is no error (set by preview_of when the page showed a Markdown preview)
    if response.status_code == 422 and g.get("comun_markdown_preview"):
        response.status_code = 200
    return response


def init_app(app) -> None:
    """Answer the "Preview" button with 200 even where the view shows the form as refused
    (status 422): the core :class:`~comun_cms.forms.Form` makes ``validate_on_submit`` return
    ``False`` for a preview, so every view stores nothing and shows the form again."""
    app.after_request(_preview_is_not_refusal)


def form_error_list(form: Any) -> list[str]:
    """Every problem of a validated ``form`` as one line each: the form's own errors, then
    ``"Label: message"`` per field error, then "the form expired" for a CSRF error.

    Args:
        form: a WTForms form after ``validate()`` (``None`` gives ``[]``).
    """
    if form is None:
        return []
    lines = [str(e) for e in form.form_errors]
    lines += [f"{f.label.text}: {e}" for f in form if f.errors and f.type != "CSRFTokenField" for e in f.errors]
    csrf = getattr(form, "csrf_token", None)
    if csrf is not None and getattr(csrf, "errors", None):
        lines.append(_("The form expired. Reload the page and send it again."))
    return lines


def autosave_reply(ok: bool, form: Any = None, *, status: int | None = None, message: str | None = None):
    """The JSON answer to an automatic save: ``{"ok": bool, "message": str, "errors": [str]}``.

    Args:
        ok: the values were stored (in place, or as the draft of the next version).
        form: the submitted form; its problems (:func:`form_error_list`) go to ``errors``.
        status: HTTP status; default 200 when ``ok``, else 422.
        message: replaces the standard message ("Saved automatically at 10:32." in the
            tenant's time zone, or "Not saved automatically: check the form.").

    Returns:
        A Flask ``(response, status)`` tuple.
    """
    from comun_cms.views.templating import datetime_filter  # templating imports this module

    if message is None:
        message = (_("Saved automatically at %(time)s.", time=datetime_filter(utcnow(), "HH:mm")) if ok
                   else _("Not saved automatically: check the form."))
    return jsonify(ok=ok, message=message, errors=form_error_list(form)), status or (200 if ok else 422)
