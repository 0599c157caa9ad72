"""Admin forms of the action-plans plugin (Flask-WTF, CSRF on every form).

Every message is an English msgid wrapped with ``lazy_gettext``. Rules that need the database
(status transitions, a verified commitment's evidence, unique numbers, weights adding up to 100)
are checked by the views with :mod:`plugins.action_plans.progress`; the forms check formats,
lengths, ranges and the order of dates.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, FloatField, HiddenField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, URL, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from comun_cms.toolkit import Form, MarkdownField, ReasonForm

from . import progress as prog

SDG_RE = re.compile(r"^(\d{1,2})(?:\.([0-9]{1,2}|[a-c]))?$")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


def lines(text: str | None) -> list[str]:
    """Split a textarea into its non-empty lines (stripped)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class LocalDateField(DateField):
    """An ISO date field (HTML ``<input type="date">``) whose error names the expected format."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators or [Optional()], format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("“%(value)s” is not a date; write it as YYYY-MM-DD, e.g. 2022-01-20.",
                                value=" ".join(valuelist))) from None


class PercentField(FloatField):
    """A percentage (0–100); accepts a decimal comma and a trailing ``%``."""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        raw = valuelist[0].strip().rstrip("%").strip()
        if "," in raw and "." not in raw:
            raw = raw.replace(",", ".")
        try:
            self.data = float(raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("“%(value)s” is not a number.", value=valuelist[0])) from None


_CORRECTION = _l("The record is published: explain why it changes; the reason is published with the new version.")
_PCT = NumberRange(min=0, max=100, message=_l("Write a number from 0 to 100."))
_URL = URL(require_tld=False, message=_l("Write a full web address starting with https://."))


class MultiCheckboxField(SelectMultipleField):
    """Check boxes for a multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _dates_in_order(form, start_name: str = "start_date", end_name: str = "end_date") -> bool:
    start, end = getattr(form, start_name), getattr(form, end_name)
    problem = prog.date_order_problem(start.data, end.data)
    if problem:
        end.errors = list(end.errors) + [problem]
        return False
    return True


class PlanForm(ReasonForm):
    """Create or edit an action plan. ``reason`` is required when the plan is published."""

    reason_required = False
    reason_missing = _CORRECTION
    number = IntegerField(_l("Number"), validators=[Optional(), NumberRange(min=1, max=999, message=_l("Write a number from 1 to 999."))],
                          description=_l("Leave it empty to take the next number."))
    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(_l("Enter a title.")), _max(300)])
    summary = TextAreaField(_l("Summary"), filters=[_strip], validators=[_max(5000)])
    framework = SelectField(_l("Methodological framework"), choices=[(k, v) for k, v in prog.FRAMEWORK_LABELS.items()], default="inai_cocreation")
    axes = TextAreaField(_l("Thematic axes"), filters=[_strip], validators=[_max(5000)],
                         description=_l("One axis per line."))
    methodology_url = StringField(_l("Link to the methodology document"), filters=[_strip],
                                  validators=[Optional(), _URL, _max(500)])
    approval_date = LocalDateField(_l("Approval date"))
    valid_from = LocalDateField(_l("Valid from"))
    valid_until = LocalDateField(_l("Valid until"),
                                 description=_l("Leave it empty to use the tenant's default validity from the start date."))
    phase = SelectField(_l("Phase"), choices=[("", prog.PHASE_LABELS[""])] + [(p, prog.PHASE_LABELS[p]) for p in prog.PHASES],
                        default="co_creation")
    expected_commitments = IntegerField(_l("Expected number of commitments"),
                                        validators=[Optional(), NumberRange(min=1, max=100, message=_l("Write a number from 1 to 100."))])
    source = TextAreaField(_l("Source"), filters=[_strip], validators=[_max(2000)],
                           description=_l("Where the plan's facts come from (document, link)."))
    notes = MarkdownField(_l("Notes"), filters=[_strip], validators=[_max(20000)], description=_l("Markdown."))
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return _dates_in_order(self, "valid_from", "valid_until") and ok


class CommitmentForm(ReasonForm):
    """Create or edit a commitment (the SMART card). ``reason`` is required when the
    commitment is published; ``status_correction`` when the status moves backwards."""

    reason_required = False
    reason_missing = _CORRECTION
    number = IntegerField(_l("Number"), validators=[Optional(), NumberRange(min=1, max=999, message=_l("Write a number from 1 to 999."))],
                          description=_l("Leave it empty to take the next number."))
    external_id = StringField(_l("External identifier"), filters=[_strip], validators=[_max(40)],
                              description=_l("E.g. the OGP identifier MXMEX0009."))
    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(_l("Enter a title.")), _max(300)])
    origin = SelectField(_l("Origin"), choices=[("", prog.ORIGIN_LABELS[""])] + [(o, prog.ORIGIN_LABELS[o]) for o in prog.ORIGINS], default="")
    description = TextAreaField(_l("Description"), filters=[_strip], validators=[_max(20000)])
    public_problem = TextAreaField(_l("Public problem"), filters=[_strip], validators=[_max(20000)])
    objective = TextAreaField(_l("Objective"), filters=[_strip], validators=[_max(20000)])
    indicator = TextAreaField(_l("Indicator"), filters=[_strip], validators=[_max(5000)])
    baseline = StringField(_l("Baseline"), filters=[_strip], validators=[_max(300)])
    target = StringField(_l("Target"), filters=[_strip], validators=[_max(300)])
    unit = StringField(_l("Unit of measure"), filters=[_strip], validators=[_max(100)])
    risks = TextAreaField(_l("Risks"), filters=[_strip], validators=[_max(20000)])
    og_values = MultiCheckboxField(_l("Open-government values"), choices=[(k, v) for k, v in prog.OG_VALUE_LABELS.items()])
    axis = StringField(_l("Axis"), filters=[_strip], validators=[_max(300)])
    sdg_goals = StringField(_l("SDG goals and targets"), filters=[_strip], validators=[_max(300)],
                            description=_l("Separated by commas, e.g. 16, 16.6, 16.10."))
    owner_institution = StringField(_l("Owner institution"), filters=[_strip], validators=[_max(300)])
    co_responsible_government = TextAreaField(_l("Co-responsible government bodies"), filters=[_strip],
                                              validators=[_max(5000)], description=_l("One per line."))
    co_responsible_civil_society = TextAreaField(_l("Co-responsible civil-society organizations"), filters=[_strip],
                                                 validators=[_max(5000)], description=_l("One per line."))
    contact_name = StringField(_l("Contact person"), filters=[_strip], validators=[_max(200)])
    contact_email = StringField(_l("Contact e-mail"), filters=[_strip],
                                validators=[Optional(), Email(_l("Enter a valid e-mail address, such as name@example.org.")), _max(254)])
    start_date = LocalDateField(_l("Start date"))
    end_date = LocalDateField(_l("End date"))
    progress_status = SelectField(_l("Status"), choices=[])
    status_correction = TextAreaField(_l("Reason for correcting the status backwards"), filters=[_strip],
                                      validators=[_max(2000)],
                                      description=_l("Only when the status moves back (e.g. from completed to started) to correct a mistake."))
    progress_manual = BooleanField(_l("Set the progress by hand instead of computing it from the milestones"))
    manual_progress = PercentField(_l("Progress set by hand (%)"), validators=[Optional(), _PCT])
    progress_reason = TextAreaField(_l("Reason for the progress set by hand"), filters=[_strip], validators=[_max(2000)])
    verified_by = StringField(_l("Verified by"), filters=[_strip], validators=[_max(300)],
                              description=_l("Name of the third party that verified the commitment."))
    verified_session = StringField(_l("Verified in STL session"), filters=[_strip], validators=[_max(300)],
                                   description=_l("E.g. “3rd regular session, 2022-05-12”."))
    verification_url = StringField(_l("Link to the verification evidence"), filters=[_strip],
                                   validators=[Optional(), _URL, _max(500)])
    irm_completion = SelectField(_l("IRM: completion"), choices=[("", prog.IRM_LABELS[""])] + [(k, prog.IRM_LABELS[k]) for k in prog.IRM_COMPLETION], default="")
    irm_potential = SelectField(_l("IRM: potential for results"), choices=[("", prog.IRM_LABELS[""])] + [(k, prog.IRM_LABELS[k]) for k in prog.IRM_POTENTIAL], default="")
    irm_early_results = SelectField(_l("IRM: early results"), choices=[("", prog.IRM_LABELS[""])] + [(k, prog.IRM_LABELS[k]) for k in prog.IRM_EARLY_RESULTS], default="")
    source = TextAreaField(_l("Source"), filters=[_strip], validators=[_max(2000)])
    notes = MarkdownField(_l("Notes"), filters=[_strip], validators=[_max(20000)], description=_l("Markdown."))
    is_demo = BooleanField(_l("Demo data (shown with the label “Sample data”)"))

    def __init__(self, *args, status_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.progress_status.choices = list(status_choices)

    def validate_sdg_goals(self, field) -> None:
        for item in [x.strip() for x in (field.data or "").split(",") if x.strip()]:
            m = SDG_RE.match(item)
            if not m or not 1 <= int(m.group(1)) <= 17:
                raise ValidationError(_l("“%(item)s” is not an SDG goal (1 to 17) or target (such as 16.6).", item=item))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.progress_manual.data:
            if self.manual_progress.data is None:
                self.manual_progress.errors = list(self.manual_progress.errors) + [_l("Write the progress (0 to 100).")]
                ok = False
            if not self.progress_reason.data:
                self.progress_reason.errors = list(self.progress_reason.errors) + [
                    _l("Explain why the progress is set by hand instead of computed from the milestones.")]
                ok = False
        return _dates_in_order(self) and ok

    def sdg_list(self) -> list[str]:
        """The SDG goals typed, as a list."""
        return [x.strip() for x in (self.sdg_goals.data or "").split(",") if x.strip()]


class MilestoneForm(ReasonForm):
    """Create or edit a milestone. ``reason`` is required when its commitment is published."""

    reason_required = False
    reason_missing = _CORRECTION
    number = IntegerField(_l("Number"), validators=[Optional(), NumberRange(min=1, max=999, message=_l("Write a number from 1 to 999."))],
                          description=_l("Leave it empty to take the next number."))
    description = TextAreaField(_l("Description"), filters=[_strip], validators=[DataRequired(_l("Describe the milestone.")), _max(5000)])
    deliverable = TextAreaField(_l("Deliverable"), filters=[_strip], validators=[_max(5000)])
    verification_means = TextAreaField(_l("Means of verification"), filters=[_strip], validators=[_max(5000)])
    owner = StringField(_l("Owner"), filters=[_strip], validators=[_max(300)])
    start_date = LocalDateField(_l("Start date"))
    end_date = LocalDateField(_l("End date"))
    weight = PercentField(_l("Weight (%)"), validators=[DataRequired(_l("Give the milestone's weight (its share of the commitment, above 0 and at most 100).")),
                                                        NumberRange(min=0.01, max=100, message=_l("The weight must be above 0 and at most 100."))],
                          description=_l("Share of the commitment; the weights of a commitment's milestones add up to 100."))
    progress_status = SelectField(_l("Status"), choices=[])
    status_correction = TextAreaField(_l("Reason for correcting the status backwards"), filters=[_strip], validators=[_max(2000)])
    progress = PercentField(_l("Progress (%)"), validators=[Optional(), _PCT],
                            description=_l("Only while started; 0 when not started and 100 when completed."))
    evidence_url = StringField(_l("Link to evidence"), filters=[_strip], validators=[Optional(), _URL, _max(500)])

    def __init__(self, *args, status_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.progress_status.choices = list(status_choices)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        status = self.progress_status.data
        if self.progress.data is None:
            self.progress.data = 100.0 if status in prog.DONE else 0.0
        problem = prog.milestone_progress_problem(status, self.progress.data)
        if problem:
            self.progress.errors = list(self.progress.errors) + [problem]
            ok = False
        return _dates_in_order(self) and ok


class ReportForm(ReasonForm):
    """Add a progress report; ``reason`` is required when the commitment is published. It has
    no progress field: the report records the commitment's computed progress."""

    reason_required = False
    reason_missing = _CORRECTION
    period_start = LocalDateField(_l("Period from"))
    period_end = LocalDateField(_l("Period until"), validators=[DataRequired(_l("Give the last day of the period reported."))])
    narrative = MarkdownField(_l("Narrative"), filters=[_strip], validators=[DataRequired(_l("Describe the progress.")), _max(20000)],
                              description=_l("Markdown."))
    reported_by = StringField(_l("Reported by"), filters=[_strip], validators=[DataRequired(_l("Say who reports.")), _max(300)])
    evidence_url = StringField(_l("Link to evidence"), filters=[_strip], validators=[Optional(), _URL, _max(500)])
    file = FileField(_l("Evidence file (optional)"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return _dates_in_order(self, "period_start", "period_end") and ok


class EvidenceForm(ReasonForm):
    """Upload an evidence file to a plan, commitment, milestone or report."""

    reason_required = False
    reason_missing = _CORRECTION
    file = FileField(_l("File"), description=_l("Photo (JPG, PNG, WebP, GIF), PDF, audio, video or office document."))
    title = StringField(_l("Title of the file"), filters=[_strip], validators=[_max(300)])
    methodology = BooleanField(_l("This is the plan's methodology document"))

    def validate_file(self, field) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose a file to upload."))


class ImportForm(Form):
    """Step 1 of the CSV import: the file, and whether the records absent from it are to be
    removed (the preview lists them; step 2 asks to confirm)."""

    file = FileField(_l("CSV file"), description=_l("UTF-8, separated by commas or semicolons, as exported here."))
    remove_absent = BooleanField(_l("Remove the commitments and milestones that are not in the file"),
                                 description=_l("The preview lists them and you confirm before anything changes: "
                                                "a draft commitment is deleted, a published one is retracted with "
                                                "the reason you give."))

    def validate_file(self, field) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the CSV file to import."))


class ApplyImportForm(ReasonForm):
    """Step 2 of the CSV import: confirm the previewed file (by SHA-256) with a reason; when the
    preview removes records, ``confirm_remove`` must be ticked (the view sets
    ``require_remove``)."""

    reason_required = False
    reason_missing = _l("Published commitments change: explain the reason; it is published with the new versions.")
    sha256 = HiddenField()
    confirm_remove = BooleanField(_l("I confirm the removal of the records listed under “Removed”"))
    require_remove = False

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.require_remove and not self.confirm_remove.data:
            self.confirm_remove.errors = list(self.confirm_remove.errors) + [
                _l("Tick the box to confirm the removal, or upload the file again without removing.")]
            ok = False
        return ok


class WeightsForm(ReasonForm):
    """Edit the weights of all milestones of a commitment at once (fields ``weight-<id>`` are
    read by the view)."""

    reason_required = False
    reason_missing = _CORRECTION


class DeleteForm(ReasonForm):
    """Confirm a deletion (drafts) or a retraction (published; reason required)."""

    reason_required = False
    reason_missing = _l("Explain why; the reason is published and stays public.")
