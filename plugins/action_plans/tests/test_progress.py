"""Progress arithmetic and status rules (pure functions; hypothesis property tests)."""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from comun_cms.toolkit import Tenant

from plugins.action_plans import progress as prog

pct = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
weight = st.floats(min_value=0.01, max_value=100, allow_nan=False, allow_infinity=False)
status = st.sampled_from(prog.STATUSES)


def ms(weight, status, progress):
    return SimpleNamespace(weight=weight, progress_status=status, progress=progress)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(weight, pct), min_size=1, max_size=12))
def test_weighted_mean_lies_between_the_smallest_and_largest_progress(pairs):
    value = prog.weighted_progress(pairs)
    lo, hi = min(p for _, p in pairs), max(p for _, p in pairs)
    assert lo - 0.005 <= value <= hi + 0.005


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(weight, pct), min_size=1, max_size=12), st.floats(min_value=0.1, max_value=1000))
def test_weighted_mean_does_not_depend_on_the_scale_of_the_weights(pairs, factor):
    scaled = [(w * factor, p) for w, p in pairs]
    assert prog.weighted_progress(scaled) == pytest.approx(prog.weighted_progress(pairs), abs=0.011)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(weight, pct), min_size=1, max_size=12), st.randoms())
def test_weighted_mean_does_not_depend_on_the_order(pairs, rnd):
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    assert prog.weighted_progress(shuffled) == pytest.approx(prog.weighted_progress(pairs), abs=0.011)


@settings(max_examples=100, deadline=None)
@given(st.lists(pct, min_size=1, max_size=12))
def test_equal_weights_give_the_arithmetic_mean(values):
    expected = math.fsum(values) / len(values)
    assert prog.weighted_progress([(7.0, v) for v in values]) == pytest.approx(expected, abs=0.006)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(weight, status, pct), min_size=1, max_size=10))
def test_commitment_progress_is_within_0_and_100_and_100_when_all_done(items):
    milestones = [ms(w, s, p) for w, s, p in items]
    value = prog.commitment_progress(milestones, "started")
    assert 0 <= value <= 100
    done = [ms(w, "completed", 0) for w, _, _ in items]
    assert prog.commitment_progress(done, "started") == 100
    none = [ms(w, "not_started", p) for w, _, p in items]
    assert prog.commitment_progress(none, "started") == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(weight, status, pct), min_size=1, max_size=10))
def test_bar_adds_up_to_100_and_its_filled_part_is_the_progress(items):
    f = prog.commitment_figures([ms(w, s, p) for w, s, p in items], "started")
    assert sum(p for _, p in f.segments) == pytest.approx(100, abs=0.05)
    filled = sum(p for k, p in f.segments if k != "pending")
    assert filled == pytest.approx(f.progress, abs=0.05)
    order = [k for k, _ in f.segments]
    assert order == [k for k in prog.SEGMENT_ORDER if k in order]


@settings(max_examples=100, deadline=None)
@given(st.lists(weight, min_size=1, max_size=10), st.data())
def test_proposed_weights_add_up_to_100_and_keep_the_weight_typed(weights, data):
    pairs = list(enumerate(weights))
    keep = data.draw(st.sampled_from([None, *range(len(weights))]))
    proposal = prog.proposed_weights(pairs, keep=keep)
    assert set(proposal) == set(range(len(weights)))
    if keep is not None:
        assert proposal[keep] == round(weights[keep], 2)
    if keep is None or (len(weights) > 1 and weights[keep] < 100):
        assert prog.weights_ok(prog.weights_total(proposal.values()))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), pct), max_size=10))
def test_plan_progress_ignores_unknown_figures(values):
    known = [v for v in values if v is not None]
    result = prog.plan_progress(values)
    if not known:
        assert result is None
    else:
        assert min(known) - 0.005 <= result <= max(known) + 0.005


def test_examples():
    # the Estado de México proactive commitment: 3 of 5 equally weighted milestones completed
    five = [ms(20, "completed", 100)] * 3 + [ms(20, "not_started", 0)] * 2
    assert prog.commitment_progress(five, "started") == 60.0
    assert prog.weighted_progress([(25, 100), (75, 40)]) == 55.0
    assert prog.milestone_progress("started", 140) == 100.0
    assert prog.milestone_progress("not_started", 50) == 0.0
    assert prog.commitment_progress([], "completed") == 100.0
    assert prog.commitment_progress([], "not_started") == 0.0
    assert prog.commitment_progress([], "started") is None
    assert prog.commitment_progress([], "") is None
    assert prog.commitment_progress(five, "started", manual=True, manual_value=77.86) == 77.86
    assert prog.weighted_progress([(0, 50)]) is None
    assert prog.weights_ok(prog.weights_total([33.33, 33.33, 33.34]))
    assert not prog.weights_ok(prog.weights_total([50, 40]))
    assert prog.commitment_figures([], "started", True, 40.0).segments == (("started", 40.0), ("pending", 60.0))
    assert prog.commitment_figures([], "", True, 77.86).segments == (("reported", 77.86), ("pending", 22.14))
    assert prog.commitment_figures([], "").segments == ()
    assert prog.commitment_figures(five, "started").segments == (("completed", 60.0), ("pending", 40.0))
    assert prog.proposed_weights([(1, 30), (2, 30)]) == {1: 50.0, 2: 50.0}
    assert prog.proposed_weights([(1, 100), (2, 40)], keep=2) == {1: 60.0, 2: 40.0}
    assert prog.proposed_weights([(1, 0), (2, 0), ("new", 40)], keep="new") == {1: 30.0, 2: 30.0, "new": 40.0}
    assert prog.proposed_weights([(1, 33), (2, 33), (3, 33)]) == {1: 33.34, 2: 33.33, 3: 33.33}


def test_one_definition_of_status_and_progress():
    """Issue 15, defect 3: milestone 1.1 (weight 30) "started 60 %" of 30/30/40 gives the
    commitment "started", 18 %, and a bar whose filled part is 18 % (started)."""
    milestones = [ms(30, "started", 60), ms(30, "not_started", 0), ms(40, "not_started", 0)]
    f = prog.commitment_figures(milestones, "not_started")
    assert (f.status, f.progress, f.source) == ("started", 18.0, "milestones")
    assert f.segments == (("started", 18.0), ("pending", 82.0))
    assert prog.commitment_figures([ms(30, "not_started", 0), ms(70, "not_started", 0)], "started").status == "not_started"
    done = [ms(50, "completed", 100), ms(50, "verified", 100)]
    assert prog.commitment_figures(done, "started").status == "completed"
    assert prog.commitment_figures(done, "verified").status == "verified"
    assert prog.commitment_figures([ms(50, "completed", 100), ms(50, "started", 0)], "verified").status == "started"
    # without milestones, the recorded status; progress from it
    assert prog.commitment_figures([], "completed") == prog.Figures("completed", 100.0, (("completed", 100.0),), "status")
    assert prog.commitment_figures([], "not_started").progress == 0.0
    # by hand: the figure typed, the status from the milestones
    f = prog.commitment_figures(milestones, "not_started", manual=True, manual_value=25)
    assert (f.status, f.progress, f.source, f.segments) == ("started", 25.0, "manual", (("started", 25.0), ("pending", 75.0)))


# --------------------------------------------------------------------------- status rules
TRANSITIONS = [
    ("not_started", "started", "", True),
    ("not_started", "completed", "", True),     # forward jumps are allowed
    ("started", "verified", "", True),
    ("started", "started", "", True),
    ("completed", "started", "", False),        # backwards needs a correction reason
    ("completed", "started", "   ", False),
    ("completed", "started", "Se registró por error", True),
    ("verified", "not_started", "Error de captura", True),
    ("", "started", "", True),                  # first report of a status
    ("started", "", "", False),                 # a reported status cannot be erased
    ("started", "finished", "", False),         # unknown status
]


def test_transitions(app):
    with app.test_request_context("/?lang=en"):
        for old, new, reason, ok in TRANSITIONS:
            problem = prog.transition_problem(old, new, prog.STATUSES, reason)
            assert (problem is None) is ok, (old, new, reason, str(problem))


def test_a_tenant_without_verified_cannot_use_it(app):
    with app.test_request_context("/?lang=en"):
        problem = prog.transition_problem("started", "verified", ("not_started", "started", "completed"))
        assert problem is not None and "verified" in str(problem)


def test_verified_needs_a_named_verifier_and_evidence(app):
    with app.test_request_context("/?lang=en"):
        assert "who verified" in str(prog.verification_problem("verified", "", True))
        assert "evidence" in str(prog.verification_problem("verified", "Colectivo Ciudadano", False))
        assert prog.verification_problem("verified", "Colectivo Ciudadano", True) is None
        assert prog.verification_problem("completed", "", False) is None


def test_milestone_progress_must_agree_with_status(app):
    with app.test_request_context("/?lang=en"):
        assert prog.milestone_progress_problem("not_started", 0) is None
        assert "0 %" in str(prog.milestone_progress_problem("not_started", 30))
        assert "100 %" in str(prog.milestone_progress_problem("completed", 90))
        assert prog.milestone_progress_problem("started", 35) is None
        assert prog.milestone_progress_problem("started", 120) is not None


def test_dates(app):
    with app.test_request_context("/?lang=en"):
        d = dt.date
        assert prog.date_order_problem(d(2022, 3, 1), d(2022, 2, 1)) is not None
        assert prog.date_order_problem(d(2022, 2, 1), d(2022, 2, 1)) is None
        assert prog.date_order_problem(None, d(2022, 2, 1)) is None
        assert prog.within_problem(d(2022, 1, 1), d(2022, 2, 1), d(2022, 1, 15), None, "plan") is not None
        assert prog.within_problem(d(2022, 1, 20), d(2022, 2, 1), d(2022, 1, 15), d(2022, 12, 31), "plan") is None
        assert prog.add_months(d(2024, 1, 1), 12) == d(2024, 12, 31)
        assert prog.add_months(d(2024, 1, 31), 1) == d(2024, 2, 28)


def test_overdue_uses_the_tenant_time_zone():
    tenant = Tenant(slug="x", state="X", secretariat="S", short_name="S", transparency_authority="T",
                    transparency_authority_short="T", timezone="America/Mexico_City")
    # 03:00 UTC on 1 March is still 28 February (21:00) in Mexico City
    now = dt.datetime(2022, 3, 1, 3, 0, tzinfo=dt.timezone.utc)
    today = prog.tenant_today(tenant, now)
    assert today == dt.date(2022, 2, 28)
    assert not prog.is_overdue(dt.date(2022, 2, 28), "started", today)
    assert prog.is_overdue(dt.date(2022, 2, 27), "started", today)
    assert not prog.is_overdue(dt.date(2022, 2, 27), "completed", today)
    assert not prog.is_overdue(None, "started", today)
    # seven hours later it is 1 March in Mexico City too
    later = prog.tenant_today(tenant, now + dt.timedelta(hours=7))
    assert later == dt.date(2022, 3, 1) and prog.is_overdue(dt.date(2022, 2, 28), "started", later)
