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
from wtforms import (
    BooleanField, HiddenField, IntegerField, PasswordField, RadioField, SelectChoice, SelectField, StringField,
    TextAreaField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError,
)

from comun_cms.edge import declare_form_fields, field_error_message, form_field_problem
from comun_cms.editing import MarkdownField, wants_preview
from comun_cms.extensions import db
from comun_cms.models import ROLES, Page
from comun_cms.site import SECTIONS
from comun_cms.tenancy import DEADLINE_RANGE
from comun_cms.web_settings import LABELS, SECTIONS as SETTING_SECTIONS
from comun_cms.users import MIN_PASSWORD, UserError, normalize_email

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 120

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "editor": _l("Editor"),
    "evaluator": _l("Evaluator"),
    "trainer": _l("Trainer"),
    "privacy": _l("Data protection"),
}
LANGUAGE_CHOICES = [SelectChoice("es", _l("Spanish")), SelectChoice("en", _l("English"))]
#: received (code ``new``) -> in review (``accepted``) -> answered -> closed; or spam / archived
FEEDBACK_STATUSES = ("new", "accepted", "answered", "closed", "spam", "archived")
FEEDBACK_STATUS_LABELS = {
    "new": _l("Received"),
    "accepted": _l("In review"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
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


class Form(FlaskForm):
    """Base of every form of Común CMS and its plugins (Flask-WTF: CSRF on every form).

    On top of the fields' own validators, :meth:`validate` refuses a value holding control
    characters (TAB, CR and LF pass in a ``TextAreaField``) or text that is not valid UTF-8
    (:mod:`comun_cms.edge`), with a field error naming the field instead of the 400 that the edge
    check gives a field no form declares. The names of the fields a subclass declares are
    recorded for that check when the class is created.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declare_form_fields(name for name in dir(cls)
                            if not name.startswith("__") and isinstance(getattr(cls, name, None), UnboundField))

    def validate_on_submit(self, extra_validators=None) -> bool:
        """Flask-WTF's ``validate_on_submit``, except for the "Preview" button of a
        :class:`~comun_cms.editing.MarkdownField` of this form (:func:`comun_cms.editing.wants_preview`): the
        form is validated (its problems show) but ``False`` is returned, so a preview never stores
        anything and every view shows the form again, the preview beside the text."""
        if self.is_submitted() and wants_preview(self):
            self.validate(extra_validators=extra_validators)
            return False
        return super().validate_on_submit(extra_validators=extra_validators)

    def validate(self, extra_validators=None) -> bool:
        """Validate as WTForms does, then replace the errors of every field holding refused text
        with one message naming the field (a hidden field's message goes to ``form_errors`` too).
        Returns ``True`` when the form is valid."""
        valid = super().validate(extra_validators=extra_validators)
        for field in self._fields.values():
            if form_field_problem(field):
                field.errors = [field_error_message(field)]
                if field.type == "HiddenField":  # nobody sees a hidden field's errors
                    self.form_errors.append(field.errors[0])
                valid = False
        return valid


class PreviewForm(Form):
    """The text of the live Markdown preview (``admin.markdown_preview``): one ``text`` field,
    refused (with a message naming it) when it holds control characters; the CSRF token is
    checked by Flask-WTF's ``CSRFProtect`` before the view."""

    text = TextAreaField(_l("Text"))


class ConfirmForm(Form):
    """A form with no fields: only the CSRF token (logout, publish and remove buttons)."""


class LoginForm(Form):
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


class AcceptInvitationForm(_NewPasswordMixin, Form):
    """Accept an invitation as a new user: name and a password typed twice (password policy of
    :func:`comun_cms.users.check_password_strength`, applied when the user is created)."""

    name = StringField(_l("Your name"), filters=[_strip],
                       validators=[DataRequired(_l("Enter your name.")),
                                   Length(max=200, message=_l("The name can have at most %(max)d characters."))],
                       render_kw={"autocomplete": "name"})


class ChangePasswordForm(_NewPasswordMixin, Form):
    """Change one's own password: the current one, then the new one twice (the policy of
    :func:`comun_cms.users.check_password_strength` is applied by the view)."""

    current_password = PasswordField(_l("Your current password"),
                                     validators=[DataRequired(_l("Enter the password of your account."))],
                                     render_kw={"autocomplete": "current-password"})


class PasswordResetRequestForm(Form):
    """Ask for a password-reset link: the e-mail of the account."""

    email = StringField(_l("E-mail"), filters=[_strip],
                        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254),
                                    EmailAddress()],
                        render_kw={"autocomplete": "username", "type": "email", "inputmode": "email"})


class PasswordResetForm(_NewPasswordMixin, Form):
    """Choose a new password from a reset link: typed twice (password policy applied by the view)."""


class AcceptInvitationExistingForm(Form):
    """Accept an invitation with an account that already exists: the current password proves it."""

    password = PasswordField(_l("Your current password"),
                             validators=[DataRequired(_l("Enter the password of your account."))],
                             render_kw={"autocomplete": "current-password"})


def reason_field() -> TextAreaField:
    """The public reason of a correction or retraction (declared last in each form)."""
    return TextAreaField(_l("Reason"), filters=[_strip],
                         validators=[Length(max=2000, message=_l("The reason can have at most %(max)d characters."))],
                         description=_l("Published together with the new version, so readers know what changed and why."))


class ReasonForm(Form):
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


class RedactForm(Form):
    """Confirm a redaction (:func:`comun_cms.publishing.redact`): the legal basis (required,
    public), the scope (the whole record or one version) and, for one version, which one (the
    view fills ``version.choices`` with the versions that still have content)."""

    legal_basis = TextAreaField(
        _l("Legal basis"), filters=[_strip],
        validators=[DataRequired(_l("State the legal basis of the redaction (the law and article); it stays public.")),
                    Length(max=2000, message=_l("The legal basis can have at most %(max)d characters."))],
        description=_l("Shown on the public notice that replaces the content and recorded in the transparency log."))
    scope = RadioField(_l("What to redact"), default="record",
                       choices=[SelectChoice("record", _l("The whole record: every version, its text and its files")),
                                SelectChoice("version", _l("One earlier version only (the current content stays)"))],
                       validators=[InputRequired(_l("Choose what to redact."))])
    version = SelectField(_l("Version to redact"), choices=[], validate_choice=False,
                          description=_l("Only for one version."))

    def validate_version(self, field) -> None:
        if self.scope.data != "version":
            return
        if not field.data or field.data not in {str(c[0]) for c in field.choices}:
            raise ValidationError(_l("Choose the version to redact."))


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
    body = MarkdownField(_l("Text"), validators=[Length(max=200_000, message=_l("The text is too long (at most %(max)d characters)."))],
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


class InviteForm(Form):
    """Invite a person by e-mail with a role in the tenant."""

    email = StringField(_l("E-mail"), filters=[_strip],
                        validators=[DataRequired(_l("Enter the e-mail address of the person you invite.")), EmailAddress()],
                        render_kw={"type": "email", "inputmode": "email", "autocomplete": "off"})
    role = SelectField(_l("Role"), choices=role_choices(), default="editor")


class RoleForm(Form):
    """Change a member's role."""

    role = SelectField(_l("Role"), choices=role_choices())


class ModerationForm(Form):
    """Moderate a public submission: status and, for ``answered``, the public answer."""

    status = SelectField(_l("Status"), choices=[SelectChoice(s, FEEDBACK_STATUS_LABELS[s]) for s in FEEDBACK_STATUSES])
    answer = TextAreaField(_l("Answer"), filters=[_strip],
                           validators=[Length(max=10_000, message=_l("The answer can have at most %(max)d characters."))])

    def validate_answer(self, field) -> None:
        if self.status.data == "answered" and not field.data:
            raise ValidationError(_l("Write the answer before marking the submission as answered."))


_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_WEB_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)


def _colour_field(label) -> StringField:
    return StringField(label, filters=[lambda v: (v or "").strip().lower()],
                       validators=[Optional(), Regexp(_COLOUR_RE, message=_l("Write the colour as # and six hexadecimal digits, e.g. #1f3b57."))],
                       description=_l("Six hexadecimal digits after #, e.g. #1f3b57. Empty: the theme's colour."),
                       render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text", "maxlength": 7})


def _url_field(label, description=None) -> StringField:
    return StringField(label, filters=[_strip],
                       validators=[Optional(), Length(max=500, message=_l("The address can have at most %(max)d characters.")),
                                   Regexp(_WEB_URL_RE, message=_l("Write a complete web address that starts with https://."))],
                       description=description, render_kw={"type": "url", "inputmode": "url", "autocomplete": "off"})


def _text_field(label, max_length: int = 300, **kw) -> StringField:
    return StringField(label, filters=[_strip],
                       validators=[Length(max=max_length, message=_l("This can have at most %(max)d characters."))], **kw)


def _days_field(label) -> IntegerField:
    low, high = DEADLINE_RANGE
    return IntegerField(label, validators=[
        InputRequired(_l("Write a number of business days.")),
        NumberRange(min=low, max=high, message=_l("Write a number of business days from %(min)d to %(max)d."))],
        description=_l("Business days (Monday to Friday, not counting official holidays)."),
        render_kw={"inputmode": "numeric", "min": low, "max": high})


class SettingsForm(Form):
    """The tenant settings a tenant admin edits on the web (``comun_cms.web_settings``).

    Field names are ``<section>_<key>`` of :data:`comun_cms.web_settings.SECTIONS`; labels
    come from :data:`comun_cms.web_settings.LABELS`. The view checks colour contrast.
    """

    contact_email = StringField(LABELS["contact"]["email"], filters=[_strip], validators=[EmailAddress()],
                                render_kw={"type": "email", "inputmode": "email", "autocomplete": "off"})
    contact_phone = _text_field(LABELS["contact"]["phone"], 60, render_kw={"type": "tel", "autocomplete": "off"})
    contact_address = _text_field(LABELS["contact"]["address"], 500)
    contact_hours = _text_field(LABELS["contact"]["hours"], 200, description=_l("E.g. Monday to Friday, 9:00 to 15:00."))
    contact_website = _url_field(LABELS["contact"]["website"])
    colors_primary = _colour_field(LABELS["colors"]["primary"])
    colors_text_on_primary = _colour_field(LABELS["colors"]["text_on_primary"])
    colors_secondary = _colour_field(LABELS["colors"]["secondary"])
    colors_accent = _colour_field(LABELS["colors"]["accent"])
    social_facebook = _url_field(LABELS["social"]["facebook"])
    social_x = _url_field(LABELS["social"]["x"])
    social_instagram = _url_field(LABELS["social"]["instagram"])
    social_youtube = _url_field(LABELS["social"]["youtube"])
    social_linkedin = _url_field(LABELS["social"]["linkedin"])
    social_tiktok = _url_field(LABELS["social"]["tiktok"])
    deadlines_feedback_days = _days_field(LABELS["deadlines"]["feedback_days"])
    deadlines_join_days = _days_field(LABELS["deadlines"]["join_days"])
    privacy_officer = _text_field(LABELS["privacy"]["officer"], 300)
    privacy_email = StringField(LABELS["privacy"]["email"], filters=[_strip], validators=[EmailAddress()],
                                render_kw={"type": "email", "inputmode": "email", "autocomplete": "off"})
    privacy_phone = _text_field(LABELS["privacy"]["phone"], 60, render_kw={"type": "tel", "autocomplete": "off"})
    privacy_notice_url = _url_field(LABELS["privacy"]["notice_url"])
    logo = FileField(_l("New logo"), description=_l("PNG, JPG, WebP or GIF image, square, at least 96 × 96 pixels. Leave it empty to keep the current logo."))
    logo_reset = BooleanField(_l("Go back to the logo of the file tenant.toml"))

    def fields_of(self, section: str) -> list:
        """The form fields of one section of :data:`comun_cms.web_settings.SECTIONS`, in order."""
        return [getattr(self, f"{section}_{key}") for key in SETTING_SECTIONS[section]]

    def values(self) -> dict:
        """``{section: {key: value}}`` of every section (text stripped; numbers as ``int``)."""
        return {section: {key: getattr(self, f"{section}_{key}").data if getattr(self, f"{section}_{key}").data is not None else ""
                          for key in keys} for section, keys in SETTING_SECTIONS.items()}

    @classmethod
    def from_values(cls, values: dict) -> "SettingsForm":
        """An unsubmitted form filled with ``{section: {key: value}}``."""
        data = {f"{section}_{key}": value for section, keys in values.items() for key, value in keys.items()}
        return cls(formdata=None, data=data)
