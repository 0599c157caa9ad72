"""Score arithmetic: examples and property tests (hypothesis) with weights and not-applicable
criteria."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from plugins.criteria import scoring
from plugins.criteria.scoring import CriterionInput, ScoreError, combine, compute, fraction_for

CATS = {"A": "Marco", "B": "Órganos"}


def test_fraction_for_each_scoring_type():
    assert fraction_for("binary", "met", None) == 1
    assert fraction_for("binary", "not_met", None) == 0
    assert fraction_for("scale", "partial", None) == Fraction(1, 2)
    assert fraction_for("scale", "met", 2) == 1
    assert fraction_for("percentage", "partial", 35) == Fraction(35, 100)
    assert fraction_for("percentage", "met", 100) == 1
    assert fraction_for("scale", "not_applicable", None) is None


@pytest.mark.parametrize("stype,result,value,field", [
    ("binary", "partial", None, "result"),
    ("percentage", "partial", None, "value"),
    ("percentage", "partial", 100, "value"),
    ("percentage", "met", 101, "value"),
    ("scale", "met", 1, "value"),
    ("scale", "bogus", None, "result"),
])
def test_fraction_for_rejects_inconsistent_input(stype, result, value, field):
    with pytest.raises(ScoreError) as err:
        fraction_for(stype, result, value)
    assert err.value.field == field
    assert str(err.value)


def test_worked_example_with_not_applicable_and_weights():
    # A: 40 pts met (1) + 30 pts partial (1/2); B: 30 pts not applicable
    sheet = compute([CriterionInput("A-01", "A", Fraction(40), (Fraction(1),)),
                     CriterionInput("A-02", "A", Fraction(30), (Fraction(1, 2),)),
                     CriterionInput("B-01", "B", Fraction(30), (None,))], CATS)
    assert sheet.earned == 55
    assert sheet.applicable_points == 70
    assert sheet.total == Fraction(5500, 70)          # 78.571...
    assert sheet.to_json()["total"] == 78.57
    a, b = sheet.categories
    assert a.percent == Fraction(55, 70) * 100 and b.percent is None
    assert (sheet.scored, sheet.not_applicable, sheet.pending) == (2, 1, 0)


def test_two_evaluators_take_the_mean_and_na_only_if_all_say_so():
    assert combine([Fraction(1), Fraction(0)]) == ("scored", Fraction(1, 2))
    assert combine([None, Fraction(1, 2)]) == ("scored", Fraction(1, 2))
    assert combine([None, None]) == ("not_applicable", None)
    assert combine([]) == ("pending", None)
    assert combine([Fraction(1)], applies=False) == ("not_applicable", None)


def test_nothing_applicable_gives_no_total():
    sheet = compute([CriterionInput("A-01", "A", Fraction(10), (None,))], CATS)
    assert sheet.total is None and sheet.to_json()["total"] is None


def test_weight_must_be_positive():
    with pytest.raises(ValueError):
        compute([CriterionInput("A-01", "A", Fraction(0), (Fraction(1),))], CATS)


# --------------------------------------------------------------------------- properties
fractions = st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(1), Fraction(1, 4), Fraction(3, 4)])
weights = st.integers(1, 10_000).map(lambda n: Fraction(n, 100))   # 0.01 to 100 points


@st.composite
def criteria_lists(draw, min_size=1):
    rows = draw(st.lists(st.tuples(st.sampled_from(["A", "B"]), weights,
                                   st.lists(st.one_of(st.none(), fractions), min_size=1, max_size=3),
                                   st.sampled_from([True, True, True, False])), min_size=min_size, max_size=10))
    return [CriterionInput(f"X-{i:02d}", cat, w, tuple(evals), applies) for i, (cat, w, evals, applies) in enumerate(rows)]


@settings(max_examples=50, deadline=None)
@given(criteria_lists())
def test_total_is_between_0_and_100_and_is_weighted_mean_of_categories(items):
    sheet = compute(items, CATS)
    if sheet.total is None:
        assert sheet.applicable_points == 0
        return
    assert 0 <= sheet.total <= 100
    weighted = sum((c.percent * c.applicable_points for c in sheet.categories if c.percent is not None), Fraction(0))
    assert weighted / sheet.applicable_points == sheet.total
    assert sum(c.points for c in sheet.categories) == sum(i.weight for i in items)


@settings(max_examples=50, deadline=None)
@given(criteria_lists(), weights, st.sampled_from(["A", "B"]))
def test_adding_a_not_applicable_criterion_changes_nothing(items, weight, category):
    before = compute(items, CATS).total
    after = compute(items + [CriterionInput("NA-01", category, weight, (None, None))], CATS).total
    assert before == after
    framework_na = compute(items + [CriterionInput("NA-02", category, weight, (Fraction(0),), applies=False)], CATS)
    assert framework_na.total == before


@settings(max_examples=40, deadline=None)
@given(criteria_lists(), st.integers(1, 100).map(lambda n: Fraction(n, 10)))
def test_scaling_every_weight_keeps_the_total(items, k):
    scaled = [CriterionInput(i.code, i.category, i.weight * k, i.fractions, i.applies) for i in items]
    assert compute(items, CATS).total == compute(scaled, CATS).total


@settings(max_examples=40, deadline=None)
@given(criteria_lists(), st.integers(0, 11))
def test_raising_a_fraction_never_lowers_the_total(items, index):
    index %= len(items)
    item = items[index]
    improved = list(items)
    improved[index] = CriterionInput(item.code, item.category, item.weight,
                                     tuple(None if f is None else Fraction(1) for f in item.fractions), item.applies)
    a, b = compute(items, CATS).total, compute(improved, CATS).total
    assert (a is None) == (b is None)
    if a is not None:
        assert b >= a


@settings(max_examples=40, deadline=None)
@given(st.lists(weights, min_size=1, max_size=10), st.sampled_from([Fraction(0), Fraction(1)]))
def test_all_met_is_100_and_all_not_met_is_0(ws, f):
    sheet = compute([CriterionInput(f"X-{i}", "A", w, (f,)) for i, w in enumerate(ws)], CATS)
    assert sheet.total == 100 * f


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000).map(lambda n: Fraction(n, 10_000)))
def test_round2_is_half_up_and_within_half_a_cent(value):
    rounded = scoring.round2(value * 100)
    assert abs(Fraction(str(rounded)) - value * 100) <= Fraction(1, 200)
