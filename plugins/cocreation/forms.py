"""Forms of the co-creation plugin. All derive the core ``Form`` (CSRF, refused control
characters); the public ones derive ``PublicForm`` (the core's honeypot and time trap; their
views carry ``public_form_rate_limit``) and, as they collect an e-mail address, ``ConsentMixin``."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from comun_cms.toolkit import ConsentMixin, Form, PublicForm

from .services import DESCRIPTION_MAX, MUNICIPALITY_MAX, REASON_MAX, TITLE_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class ProblemForm(PublicForm, ConsentMixin):
    """The consultation's public problem form (choices of ``theme`` set by the view)."""

    form_name = "cocreation_problem"

    title = StringField(_l("Problem (a short title)"), filters=[_strip],
                        validators=[DataRequired(_l("Write the problem's title.")), _max(TITLE_MAX)],
                        render_kw={"maxlength": TITLE_MAX})
    description = TextAreaField(_l("Describe the problem: what happens, whom it affects, since when"),
                                filters=[_strip], validators=[DataRequired(_l("Describe the problem.")),
                                                              _max(DESCRIPTION_MAX)],
                                render_kw={"maxlength": DESCRIPTION_MAX, "rows": 7})
    theme = SelectField(_l("Theme"), validators=[DataRequired(_l("Choose a theme."))],
                        validate_choice=True)
    municipality = StringField(_l("Municipality (optional)"), filters=[_strip],
                               validators=[Optional(), _max(MUNICIPALITY_MAX)],
                               render_kw={"maxlength": MUNICIPALITY_MAX, "autocomplete": "address-level2"})
    email = EmailField(_l("E-mail (optional, to follow what happens with your problem)"), filters=[_strip],
                       validators=[Optional(), Email(_l("Write a valid e-mail address.")), _max(254)],
                       render_kw={"maxlength": 254, "autocomplete": "email"})


class SupportForm(PublicForm, ConsentMixin):
    """Support ("apoyar") a published problem: an e-mail address that will be confirmed."""

    form_name = "cocreation_support"

    email = EmailField(_l("Your e-mail (we send you a link to confirm your support)"), filters=[_strip],
                       validators=[DataRequired(_l("Write your e-mail address.")),
                                   Email(_l("Write a valid e-mail address.")), _max(254)],
                       render_kw={"maxlength": 254, "autocomplete": "email"})


class ConfirmSupportForm(Form):
    """The button that confirms a support (a POST, so mail scanners opening the link do not)."""


class ProcessForm(Form):
    """Create or edit a co-creation process."""

    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(_l("Write the title.")), _max(300)],
                        render_kw={"maxlength": 300})
    cycle = StringField(_l("Plan cycle"), filters=[_strip], validators=[Optional(), _max(100)],
                        description=_l("For example: 2º Plan de Acción Local 2026–2027."), render_kw={"maxlength": 100})
    summary = TextAreaField(_l("Summary"), filters=[_strip], validators=[Optional(), _max(5000)],
                            render_kw={"rows": 4, "maxlength": 5000})
    consultation_opens = DateField(_l("Consultation opens"), validators=[Optional()],
                                   description=_l("First day the public form accepts problems."))
    consultation_closes = DateField(_l("Consultation closes"), validators=[Optional()],
                                    description=_l("Last day the public form accepts problems."))

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then the dates together: both or none, and the closing date not
        before the opening one (the error goes to ``consultation_closes``)."""
        valid = super().validate(extra_validators=extra_validators)
        opens, closes = self.consultation_opens.data, self.consultation_closes.data
        if self.consultation_opens.errors or self.consultation_closes.errors:
            return False
        message = None
        if (opens is None) != (closes is None):
            message = _l("Give both dates of the consultation, or none.")
        elif opens and closes and closes < opens:
            message = _l("The consultation cannot close before it opens.")
        if message:
            self.consultation_closes.errors = [*self.consultation_closes.errors, message]
            return False
        return valid


class StepForm(Form):
    """Dates, note and link of one step of a process (choices of ``link`` set by the view)."""

    starts = DateField(_l("Starts"), validators=[Optional()])
    ends = DateField(_l("Ends"), validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[Optional(), _max(2000)],
                         render_kw={"rows": 3, "maxlength": 2000})
    link = SelectField(_l("What the platform holds for this step"), validate_choice=True, default="")

    def validate_ends(self, field):
        """The end is not before the start."""
        if self.starts.data and field.data and field.data < self.starts.data:
            raise ValidationError(_l("The step cannot end before it starts."))


class MergeForm(Form):
    """Merge a duplicate into another published problem (choices of ``target`` set by the view)."""

    target = SelectField(_l("Duplicate of"), validate_choice=True, coerce=int)


class RejectForm(Form):
    """Reject a problem with a public reason."""

    reason = TextAreaField(_l("Public reason"), filters=[_strip],
                           validators=[DataRequired(_l("Write the public reason for rejecting it.")), _max(REASON_MAX)],
                           render_kw={"rows": 2, "maxlength": REASON_MAX})


class ImportForm(Form):
    """Upload (CSV or XLSX) or paste the problems of a paper consultation."""

    file = FileField(_l("Table file (.csv or .xlsx)"))
    text = TextAreaField(_l("Or paste the table"), validators=[Optional()], render_kw={"rows": 6})


class TreeForm(Form):
    """One tree (problem or solution) as a central statement and two indented outlines."""

    core = StringField(_l("Central problem or objective"), filters=[_strip],
                       validators=[DataRequired(_l("Write the central statement.")), _max(300)],
                       render_kw={"maxlength": 300})
    roots = TextAreaField(_l("Causes (problem tree) or means (solution tree)"), validators=[Optional()],
                          description=_l("One per line; indent two spaces for each level."), render_kw={"rows": 8})
    branches = TextAreaField(_l("Effects (problem tree) or ends (solution tree)"), validators=[Optional()],
                             description=_l("One per line; indent two spaces for each level."), render_kw={"rows": 8})
