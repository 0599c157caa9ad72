"""Input at the edge: text that no part of the application should ever see.

Every request passes one check (:func:`install_input_checks`, a ``before_request`` of the
application) before any view reads it:

* the **path** must be valid UTF-8 without control characters, else **404** (such an address
  names nothing);
* the **query string** must be valid UTF-8 once percent-decoded, without control characters,
  else **400** naming the parameter (JSON ``{"error": ...}`` under ``/api/``, as every API error);
* **form values** (``application/x-www-form-urlencoded`` and the text parts of
  ``multipart/form-data``) likewise. A field that a form of the application declares (any
  subclass of :class:`comun_cms.forms.Form`) is left to that form, which shows the user a field
  error naming the field (:func:`form_field_problem`) instead of an error page; any other field
  answers 400.

"Control characters" are the C0 range U+0000-U+001F (NUL included): PostgreSQL cannot store NUL
in text at all, and the others have no business in a name, a title or an address. Tab, CR and LF
are allowed only where multi-line text is expected (a ``<textarea>``). Lone surrogates
(U+D800-U+DFFF) and invalid or overlong UTF-8 (``%C0%AF``, ``%ED%A0%80``) are refused
everywhere: RFC 3629 section 3 forbids both, and a strict decoder rejects them.

Werkzeug decodes what it receives leniently (invalid bytes in a path become U+FFFD, in a query
or form value they stay as ``%XX`` text), so the query string and URL-encoded bodies are checked
on their raw bytes here; the text parts of a multipart body are decoded by Werkzeug with U+FFFD
for invalid bytes, which stores harmlessly, and are checked for control characters.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, g, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from wtforms import TextAreaField

__all__ = ["BadTextError", "check_request", "declare_form_fields", "field_error_message", "form_field_problem",
           "install_input_checks", "raw_problem", "text_problem"]

#: C0 control characters and lone surrogates; TAB, LF and CR are allowed only in multi-line text.
_BAD_SINGLE_LINE = re.compile("[\x00-\x1f\ud800-\udfff]")
_BAD_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

#: the reasons :func:`text_problem` and :func:`raw_problem` return
CONTROL, ENCODING = "control", "encoding"

#: ``g`` attribute: field name -> reason, for form fields left to the form (see :class:`comun_cms.forms.Form`)
DEFERRED_FIELDS = "_edge_deferred_fields"

#: names of the fields declared by the application's forms (:func:`declare_form_fields`)
_FORM_FIELD_NAMES: set[str] = set()


class BadTextError(BadRequest):
    """400 for a query parameter or form field holding text the application refuses.

    Args:
        description: translated message naming the parameter (the error page and the JSON error
            show it).
        field: the parameter's name (the API's ``error.field``).
    """

    def __init__(self, description: str, field: str):
        super().__init__(description)
        self.field = field


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Return why ``value`` is refused, or ``None`` when it is acceptable text.

    Args:
        value: decoded text.
        multiline: ``True`` where multi-line text is expected (TAB, CR and LF then pass).

    Returns:
        ``"control"`` (a C0 control character, NUL included) or ``"encoding"`` (a lone
        surrogate, which no valid UTF-8 encodes), or ``None``.
    """
    match = (_BAD_MULTI_LINE if multiline else _BAD_SINGLE_LINE).search(value)
    if match is None:
        return None
    return ENCODING if "\ud800" <= match.group() <= "\udfff" else CONTROL


def raw_problem(raw: bytes, *, multiline: bool = True) -> str | None:
    """Like :func:`text_problem` for bytes as received: ``"encoding"`` when ``raw`` is not valid
    UTF-8 (overlong forms and encoded surrogates included: Python's strict decoder follows
    RFC 3629), else the answer of :func:`text_problem` for the decoded text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ENCODING
    return text_problem(text, multiline=multiline)


def _message(kind: str, name: str) -> str:
    name = name if len(name) <= 80 else name[:80] + "…"
    if kind == "field":
        return _("The field “%(name)s” contains characters that are not allowed (control characters or text "
                 "that is not valid UTF-8).", name=name)
    return _("The parameter “%(name)s” contains characters that are not allowed (control characters or text "
             "that is not valid UTF-8).", name=name)


def _urlencoded_pairs(raw: bytes) -> list[tuple[bytes, bytes]]:
    """Split ``application/x-www-form-urlencoded`` bytes (WHATWG URL standard, section 5.1) into
    percent-decoded ``(name, value)`` byte pairs."""
    pairs = []
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _sep, value = part.partition(b"=")
        pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def _path_ok() -> bool:
    raw = request.environ.get("PATH_INFO", "")
    try:
        raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    # Werkzeug turns bytes it cannot decode into U+FFFD; no address of the site contains it
    return text_problem(request.path) is None and "\ufffd" not in request.path


def _bad_query_parameter() -> str | None:
    for name, value in _urlencoded_pairs(request.query_string):
        if raw_problem(name, multiline=False) or raw_problem(value, multiline=False):
            return name.decode("utf-8", "replace")
    return None


def _bad_form_fields() -> dict[str, str]:
    """Field name -> reason for every refused value of the request's form body."""
    bad: dict[str, str] = {}
    if request.mimetype == "application/x-www-form-urlencoded":
        for name, value in _urlencoded_pairs(request.get_data(cache=True)):
            problem = raw_problem(value) or raw_problem(name, multiline=False)
            if problem:
                bad.setdefault(name.decode("utf-8", "replace"), problem)
    elif request.mimetype == "multipart/form-data":
        for name, value in request.form.items(multi=True):
            problem = text_problem(value, multiline=True) or text_problem(name)
            if problem:
                bad.setdefault(name, problem)
    return bad


def declare_form_fields(names) -> None:
    """Record field names that a form checks itself (called for every subclass of
    :class:`comun_cms.forms.Form` when the class is created); a refused value in a field of one
    of these names is left to the form instead of answering 400."""
    _FORM_FIELD_NAMES.update(names)


def _form_declares(name: str) -> bool:
    # a form built with ``prefix="upload"`` names its fields ``upload-<field>``
    return name in _FORM_FIELD_NAMES or name.partition("-")[2] in _FORM_FIELD_NAMES


def check_request(endpoint: str | None = None, values: dict | None = None) -> None:
    """The check described in the module docstring (a URL value preprocessor, so it runs before
    anything reads the URL's values): aborts with 404 or a :class:`BadTextError`; records the
    fields left to forms in ``g``. The arguments are those of a URL value preprocessor and are
    not used."""
    if not _path_ok():
        abort(404)
    name = _bad_query_parameter()
    if name is not None:
        raise BadTextError(_message("parameter", name), name)
    if request.method in ("POST", "PUT", "PATCH") and request.content_length != 0:
        bad = _bad_form_fields()
        for name in bad:
            if not _form_declares(name):
                raise BadTextError(_message("field", name), name)
        setattr(g, DEFERRED_FIELDS, bad)


def form_field_problem(field) -> str | None:
    """The reason a WTForms ``field`` of the current request is refused, or ``None``.

    Looks at what the edge check recorded for the field's name (invalid UTF-8, seen only in the
    raw body) and at the field's ``raw_data`` (control characters; TAB, CR and LF pass in a
    ``TextAreaField``). Used by :class:`comun_cms.forms.Form`.
    """
    deferred = getattr(g, DEFERRED_FIELDS, None) or {}
    if deferred.get(field.name) == ENCODING:
        return ENCODING
    multiline = isinstance(field, TextAreaField)  # a MarkdownField too
    for value in field.raw_data or ():
        if isinstance(value, str):
            problem = text_problem(value, multiline=multiline)
            if problem:
                return problem
    return None


def field_error_message(field) -> str:
    """The field error shown for a refused value: names the field by its label."""
    label = field.label.text if getattr(field, "label", None) is not None else field.name
    return _message("field", str(label))


def install_input_checks(app: Flask) -> None:
    """Run :func:`check_request` on every request of ``app``, as its first URL value
    preprocessor: before the tenant is looked up and before every ``before_request`` function,
    so nothing of the application sees refused input."""
    app.url_value_preprocessors.setdefault(None, []).insert(0, check_request)
