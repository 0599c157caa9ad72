"""Forms of the criteria plugin (Flask-WTF, CSRF on every form). Messages are English msgids
wrapped with ``lazy_gettext``; each names the field and the problem."""
from __future__ import annotations

from urllib.parse import urlparse

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from comun_cms.toolkit import Form, MarkdownField, ReasonForm

from .models import ANSWERS, DECLARED_ROLES, PROGRESS, RESULTS
from .services import ANSWER_LABELS, EVALUATOR_ROLE_LABELS, PROGRESS_LABELS, RESULT_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class WebAddress:
    """Validator: empty, or an ``http(s)://`` address with a host (at most ``max`` characters)."""

    def __init__(self, max_length: int = 1000):
        self.max_length = max_length

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        parts = urlparse(field.data)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(_l("Enter a web address starting with https:// or http://."))
        if len(field.data) > self.max_length:
            raise ValidationError(_l("The address is longer than %(max)d characters.", max=self.max_length))


DATE_MESSAGE = _l("Enter a date as YYYY-MM-DD, e.g. 2025-06-30.")


class FrameworkImportForm(Form):
    """Import a framework version from CSV (stored as a draft until published)."""

    file = FileField(_l("CSV file"), description=_l(
        "UTF-8 CSV with the columns code, category, category_name, points and title (optional: category_points, "
        "description, legal_basis, legal_basis_url, applies_to, scoring_type, periodicity, deadline_days, "
        "evidence_required, verification_guide, source)."))
    slug = StringField(_l("Framework name (slug)"), filters=[lambda v: (v or "").strip().lower()],
                       default="sistema-criterios-comun",
                       validators=[DataRequired(_l("Enter the framework's short name.")), _max(80),
                                   Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                                          message=_l("Use lower-case letters without accents, digits and hyphens."))],
                       description=_l("The same for every version of one framework."))
    version_label = StringField(_l("Version"), filters=[_strip],
                                validators=[DataRequired(_l("Enter the version label, e.g. 2026.1.")), _max(40)])
    name = StringField(_l("Title"), filters=[_strip],
                       validators=[DataRequired(_l("Enter the framework's title.")), _max(300)])
    description = MarkdownField(_l("Description"), filters=[_strip], validators=[_max(10_000)],
                                description=_l("What changed in this version (e.g. a new law replaced the one cited)."))
    valid_from = DateField(_l("Valid from"), validators=[Optional()], format="%Y-%m-%d")
    source = TextAreaField(_l("Source"), filters=[_strip], validators=[_max(2000)],
                           description=_l("Where the criteria come from."))

    def validate_file(self, field) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the CSV file of the framework."))
        if not field.data.filename.lower().endswith(".csv"):
            raise ValidationError(_l("The file must be a CSV file (.csv)."))


class CycleForm(Form):
    """Open an evaluation cycle."""

    framework_id = SelectField(_l("Framework version"), coerce=int,
                               validators=[InputRequired(_l("Choose a published framework version."))])
    title = StringField(_l("Title"), filters=[_strip],
                        validators=[DataRequired(_l("Enter a title, e.g. “Evaluation 2026”.")), _max(200)])
    period_label = StringField(_l("Period"), filters=[_strip],
                               validators=[DataRequired(_l("Enter the period evaluated, e.g. 2026.")), _max(40)])
    period_start = DateField(_l("Start of the period"), validators=[Optional()], format="%Y-%m-%d")
    period_end = DateField(_l("End of the period"), validators=[Optional()], format="%Y-%m-%d")
    cutoff_date = DateField(_l("Cut-off date"), format="%Y-%m-%d",
                            validators=[InputRequired(_l("Enter the cut-off date."))],
                            description=_l("The date the published information is checked against."))
    reply_deadline = DateField(_l("Reply deadline"), validators=[Optional()], format="%Y-%m-%d",
                               description=_l("Last day of the secretariat's right of reply. Empty: set when the "
                                              "reply stage opens."))
    methodology = MarkdownField(_l("Methodology notes"), filters=[_strip], validators=[_max(10_000)])
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))


class StageForm(Form):
    """Move a cycle to its next stage (``target`` is the stage's key)."""

    target = HiddenField(validators=[DataRequired()])


class DeclarationForm(Form):
    """An evaluator's role, organization and conflicts of interest for one cycle."""

    evaluator_role = RadioField(_l("Your role as evaluator"),
                                choices=[SelectChoice(r, EVALUATOR_ROLE_LABELS[r]) for r in DECLARED_ROLES],
                                validators=[InputRequired(_l("Choose your role as evaluator."))])
    name = StringField(_l("Your name as published"), filters=[_strip],
                       validators=[DataRequired(_l("Enter your name.")), _max(200)])
    organization = StringField(_l("Organization"), filters=[_strip], validators=[_max(200)])
    has_conflict = RadioField(_l("Do you have a conflict of interest with this secretariat?"),
                              choices=[SelectChoice("no", _l("No")), SelectChoice("yes", _l("Yes"))], default="no",
                              validators=[InputRequired(_l("Answer whether you have a conflict of interest."))])
    conflict_description = TextAreaField(_l("Describe the conflict of interest"), filters=[_strip],
                                         validators=[_max(5000)],
                                         description=_l("Published with the cycle. For example: you worked for the "
                                                        "secretariat, or your organization receives funds from it."))
    affirm = BooleanField(_l("I declare that this information is true and complete."),
                          validators=[DataRequired(_l("Confirm that the declaration is true."))])

    def validate_conflict_description(self, field) -> None:
        if self.has_conflict.data == "yes" and not field.data:
            raise ValidationError(_l("Describe the conflict of interest."))


class AssessmentForm(ReasonForm):
    """Assess one criterion (result, value for percentage criteria, comment, evidence). On a
    published cycle the reason is required (a correction is published)."""

    require_reason = False
    reason_missing = _l("The cycle is published: explain why the assessment changes; the reason is published.")

    result = RadioField(_l("Result"), choices=[SelectChoice(r, RESULT_LABELS[r]) for r in RESULTS],
                        validators=[InputRequired(_l("Choose a result."))])
    value = IntegerField(_l("Percentage (0-100)"), validators=[Optional(), NumberRange(0, 100, _l(
        "The percentage must be between 0 and 100."))], description=_l("Only for criteria scored as a percentage."))
    comment = TextAreaField(_l("Comment"), filters=[_strip], validators=[_max(10_000)],
                            description=_l("What you found and where; required when the criterion does not apply."))
    evidence_url = StringField(_l("Evidence address"), filters=[_strip], validators=[WebAddress()],
                               render_kw={"type": "url", "inputmode": "url"})
    evidence_captured_on = DateField(_l("Date the evidence was captured"), validators=[Optional()],
                                     format="%Y-%m-%d")
    snapshot = FileField(_l("Snapshot of the evidence (optional)"),
                         description=_l("A PDF or an image of the page as you saw it; its SHA-256 is published."))

    def validate_evidence_captured_on(self, field) -> None:
        if self.evidence_url.data and not field.data:
            raise ValidationError(_l("Enter the date you looked at the evidence address."))


class ReplyForm(ReasonForm):
    """The secretariat's reply to one assessment."""

    require_reason = False
    reason_missing = _l("The cycle is published: explain why the reply changes; the reason is published.")

    body = TextAreaField(_l("Reply"), filters=[_strip],
                         validators=[DataRequired(_l("Write the reply.")), _max(10_000)])
    evidence_url = StringField(_l("Evidence address (optional)"), filters=[_strip], validators=[WebAddress()],
                               render_kw={"type": "url", "inputmode": "url"})


class RecommendationForm(Form):
    """Issue a recommendation to the secretariat."""

    title = StringField(_l("Title"), filters=[_strip],
                        validators=[DataRequired(_l("Enter a title.")), _max(300)])
    body = MarkdownField(_l("Recommendation"), filters=[_strip],
                         validators=[DataRequired(_l("Write the recommendation.")), _max(20_000)])
    criteria = SelectMultipleField(_l("Criteria"), coerce=int,
                                   validators=[DataRequired(_l("Choose at least one criterion."))])
    cycle_id = SelectField(_l("Evaluation cycle"), coerce=int, default=0)
    issuer_organization = StringField(_l("Organization"), filters=[_strip], validators=[_max(200)])
    issued_on = DateField(_l("Date issued"), format="%Y-%m-%d", validators=[InputRequired(DATE_MESSAGE)])
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))


class AnswerForm(Form):
    """The secretariat accepts or rejects a recommendation, with reasons."""

    answer = RadioField(_l("Answer"), choices=[SelectChoice(a, ANSWER_LABELS[a]) for a in ANSWERS[1:]],
                        validators=[InputRequired(_l("Choose whether you accept or reject the recommendation."))])
    reason = TextAreaField(_l("Reasons"), filters=[_strip],
                           validators=[DataRequired(_l("Give the reasons of the answer; they are published.")),
                                       _max(10_000)])


class FollowUpForm(Form):
    """A follow-up report on an accepted recommendation."""

    reported_on = DateField(_l("Date"), format="%Y-%m-%d", validators=[InputRequired(DATE_MESSAGE)])
    progress = RadioField(_l("Progress"), choices=[SelectChoice(p, PROGRESS_LABELS[p]) for p in PROGRESS],
                          validators=[InputRequired(_l("Choose the progress."))])
    body = TextAreaField(_l("What was done"), filters=[_strip],
                         validators=[DataRequired(_l("Describe what was done.")), _max(10_000)])
    evidence_url = StringField(_l("Evidence address (optional)"), filters=[_strip], validators=[WebAddress()],
                               render_kw={"type": "url", "inputmode": "url"})


class CategoryRowForm(Form):
    """One criterion's row in the form that assesses a whole category at once (prefix
    ``c<criterion id>-``, no CSRF token of its own: the page's :class:`ReasonForm` carries it).
    A row whose result is left empty is not saved."""

    class Meta:
        csrf = False

    result = RadioField(_l("Result"), choices=[SelectChoice(r, RESULT_LABELS[r]) for r in RESULTS],
                        validate_choice=False)
    value = IntegerField(_l("Percentage (0-100)"), validators=[Optional(), NumberRange(0, 100, _l(
        "The percentage must be between 0 and 100."))])
    comment = TextAreaField(_l("Comment"), filters=[_strip], validators=[_max(10_000)])
    evidence_url = StringField(_l("Evidence address"), filters=[_strip], validators=[WebAddress()],
                               render_kw={"type": "url", "inputmode": "url"})
    evidence_captured_on = DateField(_l("Date the evidence was captured"), validators=[Optional()], format="%Y-%m-%d")

    def validate_result(self, field) -> None:
        if field.data and field.data not in RESULTS:
            raise ValidationError(_l("Choose a result."))
        if not field.data and (self.comment.data or self.evidence_url.data or self.value.data is not None):
            raise ValidationError(_l("Choose a result, or empty the other fields of this criterion."))

    def validate_evidence_captured_on(self, field) -> None:
        if self.evidence_url.data and not field.data:
            raise ValidationError(_l("Enter the date you looked at the evidence address."))
