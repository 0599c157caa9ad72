"""Core forms (Flask-WTF, CSRF on every form): login, invitations, pages, publishing reasons,
uploads, users and moderation.

Every message is an English msgid wrapped with ``lazy_gettext`` (the UI shows es-MX). Field error
messages name the field and the problem, so they make sense read on their own by a screen reader.
"""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from comun_cms.extensions import db
from comun_cms.models import ROLES, Page
from comun_cms.site import SECTIONS
from comun_cms.users import MIN_PASSWORD, UserError, normalize_email

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 120

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "editor": _l("Editor"),
    "evaluator": _l("Evaluator"),
    "trainer": _l("Trainer"),
}
LANGUAGE_CHOICES = [SelectChoice("es", _l("Spanish")), SelectChoice("en", _l("English"))]
FEEDBACK_STATUSES = ("new", "accepted", "answered", "spam", "archived")
FEEDBACK_STATUS_LABELS = {
    "new": _l("New"),
    "accepted": _l("Accepted"),
    "answered": _l("Answered"),
    "spam": _l("Spam"),
    "archived": _l("Archived"),
}


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """Return a URL slug of ``text``: accents folded to ASCII, lower case, ``[a-z0-9-]`` only.

    ``"Minuta de la 3ª sesión"`` -> ``"minuta-de-la-3a-sesion"``; returns ``""`` when nothing is left.
    """
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:max_length].strip("-")


def role_choices() -> list[SelectChoice]:
    """Select choices (value, translated label) for every role of :data:`comun_cms.models.ROLES`."""
    return [SelectChoice(r, ROLE_LABELS.get(r, r)) for r in ROLES]


class EmailAddress:
    """Validator: the field holds an e-mail address (rules of :func:`comun_cms.users.normalize_email`)."""

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        try:
            field.data = normalize_email(field.data)
        except UserError as exc:
            raise ValidationError(str(exc)) from None


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ConfirmForm(FlaskForm):
    """A form with no fields: only the CSRF token (logout, publish and remove buttons)."""


class LoginForm(FlaskForm):
    """Log in with e-mail and password; ``next`` is the page to return to (checked by the view)."""

    email = StringField(_l("E-mail"), filters=[_strip],
                        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)],
                        render_kw={"autocomplete": "username", "type": "email", "inputmode": "email"})
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class _NewPasswordMixin:
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Choose a password.")),
                    Length(min=MIN_PASSWORD, message=_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD))],
        description=_l("At least %(n)d characters. A phrase of several words is easy to remember and hard to guess.", n=MIN_PASSWORD),
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"})


class AcceptInvitationForm(_NewPasswordMixin, FlaskForm):
    """Accept an invitation as a new user: name and a password typed twice (min. 10 characters)."""

    name = StringField(_l("Your name"), filters=[_strip],
                       validators=[DataRequired(_l("Enter your name.")),
                                   Length(max=200, message=_l("The name can have at most %(max)d characters."))],
                       render_kw={"autocomplete": "name"})


class AcceptInvitationExistingForm(FlaskForm):
    """Accept an invitation with an account that already exists: the current password proves it."""

    password = PasswordField(_l("Your current password"),
                             validators=[DataRequired(_l("Enter the password of your account."))],
                             render_kw={"autocomplete": "current-password"})


def reason_field() -> TextAreaField:
    """The public reason of a correction or retraction (declared last in each form)."""
    return TextAreaField(_l("Reason"), filters=[_strip],
                         validators=[Length(max=2000, message=_l("The reason can have at most %(max)d characters."))],
                         description=_l("Published together with the new version, so readers know what changed and why."))


class ReasonForm(FlaskForm):
    """Base of forms that carry a public ``reason`` (corrections, retractions).

    ``require_reason`` (default: the class attribute ``reason_required``) makes the reason
    mandatory and marks the field as required; set it to ``False`` for e.g. an upload to a draft.
    """

    reason_required = True
    reason_missing = _l("Explain the reason; it is published with the new version.")

    reason = reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_reason = self.reason_required

    @property
    def require_reason(self) -> bool:
        return self._require_reason

    @require_reason.setter
    def require_reason(self, value: bool) -> None:
        self._require_reason = bool(value)
        self.reason.flags.required = bool(value)

    def validate_reason(self, field) -> None:
        if self.require_reason and not field.data:
            raise ValidationError(self.reason_missing)


class CorrectionForm(ReasonForm):
    """Reason of a correction to a published record."""

    reason_missing = _l("Explain why the published content is being corrected; the reason is published with the new version.")


class ChangesForm(ReasonForm):
    """"Publicar cambios": the public reason of publishing a record's draft as a correction."""

    reason_missing = _l("Explain the reason for the changes; it is published with the new version.")


class RetractForm(ReasonForm):
    """Reason of a retraction (required, public)."""

    reason_missing = _l("Explain why the page is being retracted; the reason stays public.")


class PageForm(ReasonForm):
    """Create or edit a page.

    ``slug`` is made from the title when left empty (a number is appended if taken); a slug typed
    by hand must be unique in the tenant. ``reason`` is required only when ``require_reason`` is
    set (saving a published page publishes a correction).

    After a successful :meth:`validate`, ``slug.data`` holds the final slug.

    Args:
        page: the page being edited (``None`` for a new page), excluded from the uniqueness check.
    """

    reason_required = False
    reason_missing = CorrectionForm.reason_missing

    title = StringField(_l("Title"), filters=[_strip],
                        validators=[DataRequired(_l("Enter a title.")),
                                    Length(max=300, message=_l("The title can have at most %(max)d characters."))])
    slug = StringField(_l("Address (slug)"), filters=[lambda v: (v or "").strip().lower()],
                       validators=[Optional(),
                                   Length(max=SLUG_MAX, message=_l("The address can have at most %(max)d characters.")),
                                   Regexp(SLUG_RE, message=_l("The address may only contain lower-case letters without accents, digits and hyphens, e.g. “informe-2024”."))],
                       description=_l("Part of the page's web address. Leave it empty to make it from the title."))
    summary = TextAreaField(_l("Summary"), filters=[_strip],
                            validators=[Length(max=1000, message=_l("The summary can have at most %(max)d characters."))],
                            description=_l("One or two sentences shown in lists and search results."))
    body = TextAreaField(_l("Text"), validators=[Length(max=200_000, message=_l("The text is too long (at most %(max)d characters)."))],
                         description=_l("Markdown: # Heading, **bold**, *italics*, - list item, [link text](https://...)."))
    section = SelectField(_l("Section"), choices=[], validate_choice=True)
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="es")
    source = TextAreaField(_l("Source"), filters=[_strip],
                           validators=[Length(max=2000, message=_l("The source can have at most %(max)d characters."))],
                           description=_l("Where the content comes from (document, session, link)."))
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))
    reason = reason_field()

    def __init__(self, *args, page: Page | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        self.section.choices = [SelectChoice("", _l("No section"))] + [SelectChoice(s.key, s.title) for s in SECTIONS]

    def _slug_taken(self, slug: str) -> bool:
        query = select(Page.id).where(Page.slug == slug)
        if self.page is not None and self.page.id is not None:
            query = query.where(Page.id != self.page.id)
        return db.session.scalar(query.limit(1)) is not None

    def validate_slug(self, field) -> None:
        if field.data and self._slug_taken(field.data):
            raise ValidationError(_l("Another page already uses the address “%(slug)s”; choose another one.", slug=field.data))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.slug.data:
            base = slugify(self.title.data)
            if not base:
                self.slug.errors = list(self.slug.errors) + [_l("The title has no letters or digits to make an address from; type one.")]
                return False
            slug, n = base, 1
            while self._slug_taken(slug):
                n += 1
                slug = f"{base[:SLUG_MAX - len(str(n)) - 1]}-{n}"
            self.slug.data = slug
        return True

    #: The page attributes this form edits (the reason is not a page field).
    page_fields = ("title", "slug", "summary", "body", "section", "language", "source", "is_demo")

    def values(self) -> dict:
        """The form's values as ``{page attribute: value}`` (``None`` becomes ``""``)."""
        out = {}
        for name in self.page_fields:
            value = getattr(self, name).data
            out[name] = value if value is not None else ""
        return out

    def populate_page(self, page: Page) -> None:
        """Copy the form's values to ``page`` (the reason is not a page field)."""
        for name, value in self.values().items():
            setattr(page, name, value)

    def labels(self) -> dict:
        """``{page attribute: translated field label}``, for diffs of the edited values."""
        return {name: getattr(self, name).label.text for name in self.page_fields}

    def choice_labels(self) -> dict:
        """``{attribute: {value: label}}`` of the select fields, so a diff shows words, not codes."""
        return {name: {c.value: c.label for c in getattr(self, name).choices} for name in ("section", "language")}


class UploadForm(ReasonForm):
    """Upload one evidence file to a record; the reason is required when the record is published."""

    reason_required = False
    reason_missing = _l("The page is published: explain why the file is added; a correction with this reason is published.")

    file = FileField(_l("File"), description=_l("Photo (JPG, PNG, WebP, GIF), PDF, audio, video or office document."))
    title = StringField(_l("Title of the file"), filters=[_strip],
                        validators=[Length(max=300, message=_l("The title can have at most %(max)d characters."))],
                        description=_l("Optional. By default, the file name."))
    reason = reason_field()

    def validate_file(self, field) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose a file to upload."))


class InviteForm(FlaskForm):
    """Invite a person by e-mail with a role in the tenant."""

    email = StringField(_l("E-mail"), filters=[_strip],
                        validators=[DataRequired(_l("Enter the e-mail address of the person you invite.")), EmailAddress()],
                        render_kw={"type": "email", "inputmode": "email", "autocomplete": "off"})
    role = SelectField(_l("Role"), choices=role_choices(), default="editor")


class RoleForm(FlaskForm):
    """Change a member's role."""

    role = SelectField(_l("Role"), choices=role_choices())


class ModerationForm(FlaskForm):
    """Moderate a public submission: status and, for ``answered``, the public answer."""

    status = SelectField(_l("Status"), choices=[SelectChoice(s, FEEDBACK_STATUS_LABELS[s]) for s in FEEDBACK_STATUSES])
    answer = TextAreaField(_l("Answer"), filters=[_strip],
                           validators=[Length(max=10_000, message=_l("The answer can have at most %(max)d characters."))])

    def validate_answer(self, field) -> None:
        if self.status.data == "answered" and not field.data:
            raise ValidationError(_l("Write the answer before marking the submission as answered."))
