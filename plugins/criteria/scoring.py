"""Score arithmetic of an evaluation cycle (pure functions, exact fractions).

The formula (shown on the public pages, :data:`FORMULA_VERSION` 1):

1. Each assessment gives a **fraction** *f* between 0 and 1 (:func:`fraction_for`):
   binary: met = 1, not met = 0; scale 0-1-2: value / 2 (met = 2, partial = 1, not met = 0);
   percentage: value / 100. "Not applicable" gives no fraction.
2. A criterion assessed by several evaluators (not counting the secretariat's self-assessment)
   takes the **mean** of their fractions; it is not applicable only when every evaluator said so
   (or when the framework says it does not apply to the state). A criterion nobody assessed yet
   is **pending** and left out (a cycle cannot be published with pending criteria).
3. Points earned by criterion *i* with weight *wᵢ* (its points): *eᵢ = wᵢ · fᵢ*.
4. Category score = 100 · Σ *eᵢ* / Σ *wᵢ* over the category's applicable criteria.
5. Total score = 100 · Σ *eᵢ* / Σ *wᵢ* over all applicable criteria, i.e. the score is
   **normalized** to 0-100 over the criteria that apply: a criterion that does not apply neither
   adds nor removes points. The total equals the mean of the category scores weighted by their
   applicable points.

Everything is computed with :class:`fractions.Fraction`; :meth:`ScoreSheet.to_json` rounds to
two decimals (half up) for display and publication.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Iterable, Mapping, Sequence

from flask_babel import lazy_gettext as _l

FORMULA_VERSION = 1
RESULTS = ("met", "partial", "not_met", "not_applicable")
SCALE_MAX = {"binary": 1, "scale": 2, "percentage": 100}


class ScoreError(ValueError):
    """An assessment's result and value do not fit the criterion's scoring type.

    ``field`` is ``"result"`` or ``"value"``; ``str(error)`` explains the problem (translated)."""

    def __init__(self, message, field: str = "value"):
        self.field = field
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.message)


def default_value(scoring_type: str, result: str) -> int | None:
    """The raw value implied by ``result`` for binary and scale criteria (``None`` for
    percentage criteria, whose value must be given, and for not applicable)."""
    if result == "not_applicable":
        return None
    if scoring_type == "binary":
        return {"met": 1, "not_met": 0}.get(result)
    if scoring_type == "scale":
        return {"met": 2, "partial": 1, "not_met": 0}[result]
    return None


def result_for_value(scoring_type: str, value: int) -> str:
    """The result a raw value means: the maximum is met, 0 is not met, anything between partial."""
    top = SCALE_MAX[scoring_type]
    if value >= top:
        return "met"
    if value <= 0:
        return "not_met"
    return "partial"


def fraction_for(scoring_type: str, result: str, value: int | None) -> Fraction | None:
    """Return the fraction (0..1) an assessment earns, or ``None`` when not applicable.

    Args:
        scoring_type: ``binary``, ``scale`` or ``percentage``.
        result: ``met``, ``partial``, ``not_met`` or ``not_applicable``.
        value: the raw score (binary 0-1, scale 0-2, percentage 0-100); for binary and scale it
            may be ``None`` (taken from the result).

    Raises:
        ScoreError: unknown result or scoring type, ``partial`` on a binary criterion, a value
            out of range, a missing percentage, or a value that contradicts the result.
    """
    if result not in RESULTS:
        raise ScoreError(_l("Unknown result “%(result)s”.", result=result), "result")
    if scoring_type not in SCALE_MAX:
        raise ScoreError(_l("Unknown scoring type “%(type)s”.", type=scoring_type), "result")
    if result == "not_applicable":
        return None
    if scoring_type == "binary" and result == "partial":
        raise ScoreError(_l("This criterion is scored yes/no: it cannot be partially met."), "result")
    top = SCALE_MAX[scoring_type]
    if value is None:
        value = default_value(scoring_type, result)
        if value is None:
            raise ScoreError(_l("Enter the percentage (0 to 100)."))
    if not 0 <= value <= top:
        raise ScoreError(_l("The score must be between 0 and %(top)d.", top=top))
    if result_for_value(scoring_type, value) != result:
        raise ScoreError(_l("The score does not match the result: the maximum means met, 0 means not met, "
                            "any other value means partially met."))
    return Fraction(value, top)


@dataclass(frozen=True)
class CriterionInput:
    """What the score of one criterion depends on.

    ``weight``: points of the criterion (> 0). ``fractions``: one entry per evaluator assessment,
    ``None`` for "not applicable"; empty while nobody has assessed it. ``applies``: ``False`` when
    the framework says the criterion does not apply to the state (then it is not applicable
    whatever the assessments say).
    """

    code: str
    category: str
    weight: Fraction
    fractions: tuple[Fraction | None, ...] = ()
    applies: bool = True


@dataclass(frozen=True)
class CriterionScore:
    """Result for one criterion: ``status`` is ``scored``, ``not_applicable`` or ``pending``;
    ``fraction`` and ``earned`` (= weight · fraction) are ``None`` unless scored."""

    code: str
    category: str
    weight: Fraction
    status: str
    fraction: Fraction | None
    earned: Fraction | None


@dataclass
class CategoryScore:
    """Totals of one category: ``points`` (all its criteria), ``applicable_points`` (criteria
    scored), ``earned``, ``percent`` (0-100 or ``None`` when nothing applicable was scored) and
    counts of scored / not applicable / pending criteria."""

    code: str
    name: str
    points: Fraction = Fraction(0)
    applicable_points: Fraction = Fraction(0)
    earned: Fraction = Fraction(0)
    scored: int = 0
    not_applicable: int = 0
    pending: int = 0

    @property
    def percent(self) -> Fraction | None:
        if self.applicable_points == 0:
            return None
        return 100 * self.earned / self.applicable_points


@dataclass
class ScoreSheet:
    """Scores of a cycle: per criterion, per category (in framework order) and total."""

    criteria: list[CriterionScore] = field(default_factory=list)
    categories: list[CategoryScore] = field(default_factory=list)

    @property
    def applicable_points(self) -> Fraction:
        return sum((c.applicable_points for c in self.categories), Fraction(0))

    @property
    def earned(self) -> Fraction:
        return sum((c.earned for c in self.categories), Fraction(0))

    @property
    def total(self) -> Fraction | None:
        """Normalized total 0-100, or ``None`` when no applicable criterion was scored."""
        if self.applicable_points == 0:
            return None
        return 100 * self.earned / self.applicable_points

    @property
    def pending(self) -> int:
        return sum(1 for c in self.criteria if c.status == "pending")

    @property
    def not_applicable(self) -> int:
        return sum(1 for c in self.criteria if c.status == "not_applicable")

    @property
    def scored(self) -> int:
        return sum(1 for c in self.criteria if c.status == "scored")

    def to_json(self) -> dict:
        """JSON-safe summary with numbers rounded to two decimals::

            {"formula_version": 1, "total": 73.5 | None, "earned": 61.25, "applicable_points": 83.33,
             "scored": 38, "not_applicable": 2, "pending": 0,
             "categories": [{"code", "name", "points", "applicable_points", "earned", "percent",
                             "scored", "not_applicable", "pending"}],
             "criteria": {"A-01": {"status", "fraction", "earned", "weight"}}}
        """
        return {
            "formula_version": FORMULA_VERSION,
            "total": round2(self.total),
            "earned": round2(self.earned),
            "applicable_points": round2(self.applicable_points),
            "scored": self.scored,
            "not_applicable": self.not_applicable,
            "pending": self.pending,
            "categories": [{"code": c.code, "name": c.name, "points": round2(c.points),
                            "applicable_points": round2(c.applicable_points), "earned": round2(c.earned),
                            "percent": round2(c.percent), "scored": c.scored,
                            "not_applicable": c.not_applicable, "pending": c.pending} for c in self.categories],
            "criteria": {c.code: {"status": c.status, "weight": round2(c.weight), "fraction": round2(c.fraction, 4),
                                  "earned": round2(c.earned)} for c in self.criteria},
        }


def round2(value: Fraction | None, places: int = 2) -> float | None:
    """Round a fraction half up to ``places`` decimals and return a float (``None`` stays)."""
    if value is None:
        return None
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def combine(fractions: Sequence[Fraction | None], applies: bool = True) -> tuple[str, Fraction | None]:
    """Combine the evaluators' fractions of one criterion (step 2 of the formula).

    Returns ``(status, fraction)``: ``("not_applicable", None)`` if the criterion does not apply
    or every evaluator said so, ``("pending", None)`` if nobody assessed it, else
    ``("scored", mean of the applicable fractions)``.
    """
    if not applies:
        return "not_applicable", None
    if not fractions:
        return "pending", None
    applicable = [f for f in fractions if f is not None]
    if not applicable:
        return "not_applicable", None
    return "scored", sum(applicable, Fraction(0)) / len(applicable)


def compute(inputs: Iterable[CriterionInput], category_names: Mapping[str, str]) -> ScoreSheet:
    """Compute the score sheet of a cycle.

    Args:
        inputs: one :class:`CriterionInput` per criterion of the framework version.
        category_names: ``{category code: name}`` in display order; categories of the inputs
            missing here are appended in order of appearance (named by their code).

    Returns:
        A :class:`ScoreSheet`.

    Raises:
        ValueError: a weight that is not positive or a fraction outside 0..1.
    """
    sheet = ScoreSheet()
    cats: dict[str, CategoryScore] = {code: CategoryScore(code, name) for code, name in category_names.items()}
    for item in inputs:
        weight = Fraction(item.weight)
        if weight <= 0:
            raise ValueError(f"criterion {item.code}: weight must be positive")
        for f in item.fractions:
            if f is not None and not 0 <= f <= 1:
                raise ValueError(f"criterion {item.code}: fraction {f} outside 0..1")
        status, fraction = combine(item.fractions, item.applies)
        earned = weight * fraction if fraction is not None else None
        sheet.criteria.append(CriterionScore(item.code, item.category, weight, status, fraction, earned))
        cat = cats.setdefault(item.category, CategoryScore(item.category, item.category))
        cat.points += weight
        if status == "scored":
            cat.applicable_points += weight
            cat.earned += earned
            cat.scored += 1
        elif status == "not_applicable":
            cat.not_applicable += 1
        else:
            cat.pending += 1
    sheet.categories = list(cats.values())
    return sheet
