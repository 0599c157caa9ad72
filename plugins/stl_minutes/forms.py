"""Admin forms of the STL-minutes plugin (Flask-WTF; CSRF on every form).

Every message is an English msgid wrapped with ``lazy_gettext`` and names the problem so it
reads well on its own next to its field. Choices that depend on the database (bodies, members,
sessions, commitments) are filled by the views.
"""
from __future__ import annotations

from urllib.parse import urlparse

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from comun_cms.toolkit import Form, MarkdownField, ReasonForm

from .vocab import (
    AGENDA_KINDS, AGREEMENT_STATUSES, BODY_KINDS, CAPACITIES, EVIDENCE_CATEGORIES, MODALITIES, QUORUM_RULES,
    SECTORS, SESSION_KINDS, VOTES, choices,
)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _len(max_: int):
    return Length(max=max_, message=_l("At most %(max)d characters.", max=max_))


class WebAddress:
    """Validator: empty, or an absolute ``http``/``https`` address with a host name."""

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        parsed = urlparse(field.data)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in field.data:
            raise ValidationError(_l("Enter a complete web address starting with https:// or http://."))


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class BodyForm(ReasonForm):
    """Create or edit a collegiate body. ``reason`` is required once the body is published
    (saving publishes a correction)."""

    reason_required = False
    reason_missing = _l("The body is published: explain the change; the reason is published with the new version.")

    kind = SelectField(_l("Kind of body"), choices=choices(BODY_KINDS))
    name = StringField(_l("Official name"), filters=[_strip],
                       validators=[DataRequired(_l("Enter the official name of the body.")), _len(300)])
    short_name = StringField(_l("Short name"), filters=[_strip], validators=[_len(60)],
                             description=_l("E.g. “STL”. Optional."))
    description = MarkdownField(_l("Description"), filters=[_strip], validators=[_len(10_000)],
                                description=_l("Markdown. What the body does and its legal basis."))
    key_prefix = StringField(_l("Prefix of agreement keys"), filters=[_strip],
                             validators=[_len(30)],
                             description=_l("E.g. “STL-MEX” gives keys like STL-MEX/ORD19/2023/01. Leave empty for the default."))
    quorum_rule = SelectField(_l("Quorum rule"), choices=choices(QUORUM_RULES))
    source = TextAreaField(_l("Source"), filters=[_strip], validators=[_len(2000)],
                           description=_l("Where the public facts about the body come from (document, link)."))
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))

    def validate_key_prefix(self, field) -> None:
        if field.data and ("/" in field.data or " " in field.data):
            raise ValidationError(_l("The prefix cannot contain “/” or spaces."))


class MemberForm(ReasonForm):
    """Add or edit a member of a body. ``alternate_for`` choices are the body's members."""

    reason_required = False
    reason_missing = BodyForm.reason_missing

    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(_l("Enter the person's name.")), _len(200)])
    institution = StringField(_l("Institution or organization"), filters=[_strip], validators=[_len(300)])
    post = StringField(_l("Post"), filters=[_strip], validators=[_len(300)])
    sector = SelectField(_l("Sector"), choices=choices(SECTORS, blank=_l("Not reported")))
    capacity = SelectField(_l("Capacity"), choices=choices(CAPACITIES))
    alternate_for = SelectField(_l("Alternate of"), coerce=_int_or_none, choices=[], validate_choice=False,
                                description=_l("Only for alternates: the member whose seat they cover."))
    term_start = DateField(_l("Term starts"), validators=[Optional()], render_kw={"type": "date"})
    term_end = DateField(_l("Term ends"), validators=[Optional()], render_kw={"type": "date"})
    email = StringField(_l("E-mail (private)"), filters=[_strip], validators=[_len(254)],
                        description=_l("Never published. With it the person can comment on minutes in review after logging in."),
                        render_kw={"type": "email", "autocomplete": "off"})
    position = IntegerField(_l("Order in the list"), default=0, validators=[Optional(), NumberRange(min=0, max=9999)])
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))

    def validate_term_end(self, field) -> None:
        if field.data and self.term_start.data and field.data < self.term_start.data:
            raise ValidationError(_l("The term cannot end before it starts."))

    def validate_alternate_for(self, field) -> None:
        valid = {value for value, _label in field.choices}
        if field.data is not None and field.data not in valid:
            raise ValidationError(_l("Choose a member of this body."))
        if field.data is not None and self.capacity.data != "alternate":
            raise ValidationError(_l("Only an alternate covers another member's seat; choose the capacity “Alternate” or leave this empty."))

    def validate_email(self, field) -> None:
        if field.data and ("@" not in field.data or " " in field.data):
            raise ValidationError(_l("“%(email)s” is not a valid e-mail address.", email=field.data))


class SessionForm(ReasonForm):
    """Create or edit a session (draft or in review). ``reason`` is required when the session's
    call is published and the change alters it (a correction of the call is published)."""

    reason_required = False
    reason_missing = _l("The call of this session is published: explain the change; a correction of the call is published.")

    body = SelectField(_l("Body"), coerce=_int_or_none, choices=[], validate_choice=False)
    kind = SelectField(_l("Kind of session"), choices=choices(SESSION_KINDS), default="regular")
    number = IntegerField(_l("Number"), validators=[Optional(), NumberRange(min=1, max=999, message=_l("The number must be between 1 and 999."))],
                          description=_l("Regular and special sessions are numbered separately: 19 gives “Décima Novena Sesión Ordinaria”."))
    session_date = DateField(_l("Date"), validators=[Optional()], render_kw={"type": "date"})
    start_time = TimeField(_l("Starts at"), validators=[Optional()], render_kw={"type": "time"},
                           description=_l("Local time of the state."))
    end_time = TimeField(_l("Ends at"), validators=[Optional()], render_kw={"type": "time"})
    modality = SelectField(_l("Modality"), choices=choices(MODALITIES, blank=_l("Not reported")))
    place = StringField(_l("Place"), filters=[_strip], validators=[_len(300)])
    video_url = StringField(_l("Video of the session (link)"), filters=[_strip], validators=[_len(500), WebAddress()])
    call_url = StringField(_l("Call (link)"), filters=[_strip], validators=[_len(500), WebAddress()],
                           description=_l("Link to the published call, if it is not uploaded as a file."))
    summary = MarkdownField(_l("Summary"), filters=[_strip], validators=[_len(5000)])
    source_url = StringField(_l("Source (link)"), filters=[_strip], validators=[_len(500), WebAddress()],
                             description=_l("Public source of the facts, when the minutes are rebuilt from news or official pages."))
    source_note = TextAreaField(_l("Notes on the source"), filters=[_strip], validators=[_len(2000)])
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))

    def validate_body(self, field) -> None:
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose the body that meets."))

    def validate_number(self, field) -> None:
        if field.data is None and self.kind.data != "inaugural":
            raise ValidationError(_l("Enter the session number (only the inaugural session has none)."))

    def validate_start_time(self, field) -> None:
        if field.data and not self.session_date.data:
            raise ValidationError(_l("Enter the date before the time."))

    def validate_end_time(self, field) -> None:
        if field.data and not self.start_time.data:
            raise ValidationError(_l("Enter the starting time too."))
        if field.data and self.start_time.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The session must end after it starts."))


class AgendaItemForm(Form):
    """Add an agenda item."""

    kind = SelectField(_l("Kind of item"), choices=choices(AGENDA_KINDS), default="informative")
    title = StringField(_l("Item"), filters=[_strip], validators=[DataRequired(_l("Enter the agenda item.")), _len(500)])
    description = MarkdownField(_l("Details"), filters=[_strip], validators=[_len(10_000)],
                                description=_l("Markdown. What was presented or discussed."))


class AttendanceForm(Form):
    """Add an attendee typed in (not on the member list)."""

    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(_l("Enter the attendee's name.")), _len(200)])
    institution = StringField(_l("Institution or organization"), filters=[_strip], validators=[_len(300)])
    post = StringField(_l("Post"), filters=[_strip], validators=[_len(300)])
    sector = SelectField(_l("Sector"), choices=choices(SECTORS, blank=_l("Not reported")))
    capacity = SelectField(_l("Capacity"), choices=choices(CAPACITIES, blank=_l("Not reported")))
    represents = SelectField(_l("Covers the seat of"), coerce=_int_or_none, choices=[], validate_choice=False,
                             description=_l("For an alternate not on the member list: the member whose seat she covers (counts for quorum)."))
    role = StringField(_l("Role in the session"), filters=[_strip], validators=[_len(100)],
                       description=_l("E.g. “Preside”, “Technical secretary”. Optional."))

    def validate_represents(self, field) -> None:
        if field.data is not None and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose a member of this body."))


class AgreementForm(Form):
    """Add or edit an agreement of a session in draft or review."""

    text = TextAreaField(_l("Agreement"), filters=[_strip],
                         validators=[DataRequired(_l("Write the text of the agreement.")), _len(10_000)])
    vote = SelectField(_l("Vote"), choices=choices(VOTES, blank=_l("Not reported")))
    owner = StringField(_l("Responsible"), filters=[_strip], validators=[_len(300)],
                        description=_l("Person, institution or sector that must carry it out."))
    due_date = DateField(_l("Due date"), validators=[Optional()], render_kw={"type": "date"})
    commitment = SelectField(_l("Action-plan commitment"), coerce=_int_or_none, choices=[], validate_choice=False)
    commitment_ref = StringField(_l("Commitment identifier"), filters=[_strip], validators=[_len(120)],
                                 description=_l("External identifier of the commitment, if it is not in the list."))

    def validate_commitment(self, field) -> None:
        if field.data is not None and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose a commitment from the list."))


class EvidenceForm(ReasonForm):
    """Add evidence to a session: a file or a link. ``reason`` is required once the minutes are
    published (the evidence is added as an addendum)."""

    reason_required = False
    reason_missing = _l("The minutes are published: explain why this evidence is added; it is published as an addendum.")

    category = SelectField(_l("Kind of evidence"), choices=choices(EVIDENCE_CATEGORIES))
    title = StringField(_l("Title"), filters=[_strip], validators=[_len(300)])
    file = FileField(_l("File"), description=_l("PDF, photo, audio, video or office document."))
    url = StringField(_l("Or a link"), filters=[_strip], validators=[_len(500), WebAddress()],
                      description=_l("E.g. the video of the session on a video platform."))

    def validate_url(self, field) -> None:
        has_file = bool(self.file.data and getattr(self.file.data, "filename", ""))
        if has_file and field.data:
            raise ValidationError(_l("Give a file or a link, not both."))
        if not has_file and not field.data:
            raise ValidationError(_l("Choose a file to upload or enter a link."))


class CallDocumentForm(ReasonForm):
    """Upload the call document (PDF) of a session."""

    reason_required = False
    reason_missing = SessionForm.reason_missing
    file = FileField(_l("Call document (PDF)"))

    def validate_file(self, field) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose a file to upload."))


class ApproveForm(Form):
    """Record the approval of minutes in a later session of the same body."""

    approving = SelectField(_l("Approved in the session"), coerce=_int_or_none, choices=[], validate_choice=False)

    def validate_approving(self, field) -> None:
        if field.data is None or field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose the later session in which the minutes were approved."))


class AddendumForm(Form):
    """An addendum to published minutes (the only change allowed after publication)."""

    reason = TextAreaField(_l("Reason"), filters=[_strip],
                           validators=[DataRequired(_l("Explain the reason of the addendum; it is published.")), _len(2000)])
    text = MarkdownField(_l("Text of the addendum"), filters=[_strip], validators=[_len(20_000)],
                         description=_l("The correction or addition, as it must read in the minutes."))


class CommentForm(Form):
    """A review comment on minutes in review."""

    body = TextAreaField(_l("Comment"), filters=[_strip],
                         validators=[DataRequired(_l("Write your comment.")), _len(5000)])


class FollowUpForm(Form):
    """A follow-up entry of a published agreement (published as a correction of the agreement)."""

    entry_date = DateField(_l("Date"), validators=[DataRequired(_l("Enter the date of the follow-up (YYYY-MM-DD)."))],
                           render_kw={"type": "date"})
    progress = SelectField(_l("Status"), choices=choices(AGREEMENT_STATUSES))
    note = TextAreaField(_l("What happened"), filters=[_strip],
                         validators=[DataRequired(_l("Describe the progress; it is published as the reason of the new version.")), _len(5000)])
    new_due_date = DateField(_l("New due date"), validators=[Optional()], render_kw={"type": "date"},
                             description=_l("Only if the deadline was extended."))
    link_url = StringField(_l("Evidence link"), filters=[_strip], validators=[_len(500), WebAddress()])
    file = FileField(_l("Evidence file"))
    commitment = SelectField(_l("Action-plan commitment"), coerce=_int_or_none, choices=[], validate_choice=False)
    commitment_ref = StringField(_l("Commitment identifier"), filters=[_strip], validators=[_len(120)])

    def validate_commitment(self, field) -> None:
        if field.data is not None and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose a commitment from the list."))


def form_errors(form) -> list[str]:
    """Flatten a form's errors into ``"<field label>: <message>"`` strings (for flash messages)."""
    out = list(form.form_errors)
    for name, errors in form.errors.items():
        if name is None:
            continue
        field = getattr(form, name, None)
        label = field.label.text if field is not None else name
        for err in errors:
            out.append(f"{label}: {err}")
    return out


class MembersImportForm(ReasonForm):
    """Add several members of a body at once: a table pasted (``table``) or uploaded (``file``,
    CSV or XLSX). ``reason`` is required when the body is published (one correction for all)."""

    reason_required = False
    reason_missing = BodyForm.reason_missing

    table = TextAreaField(_l("Table of members"), validators=[Length(max=2_000_000)],
                          description=_l("Copy the rows from a spreadsheet and paste them here, with the column names in the "
                                         "first row: Nombre, Institución, Cargo, Sector, Calidad, Inicio del periodo, "
                                         "Fin del periodo, Correo. Only the name is required."))
    file = FileField(_l("Or upload a file"), description=_l("CSV (UTF-8) or Excel (.xlsx), with the same columns."))
