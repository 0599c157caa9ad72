"""Spanish ordinals and quorum rules (pure functions)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from plugins.stl_minutes.ordinals import ordinal_es, session_title
from plugins.stl_minutes.quorum import compute_quorum, majority


@pytest.mark.parametrize("n, text", [
    (1, "Primera"), (2, "Segunda"), (3, "Tercera"), (7, "Séptima"), (9, "Novena"), (10, "Décima"),
    (11, "Décima Primera"), (12, "Décima Segunda"), (19, "Décima Novena"), (20, "Vigésima"),
    (21, "Vigésima Primera"), (33, "Trigésima Tercera"), (40, "Cuadragésima"), (57, "Quincuagésima Séptima"),
    (68, "Sexagésima Octava"), (70, "Septuagésima"), (84, "Octogésima Cuarta"), (99, "Nonagésima Novena"),
])
def test_feminine_ordinals(n, text):
    assert ordinal_es(n) == text


def test_every_ordinal_from_1_to_99_is_distinct_and_well_formed():
    words = [ordinal_es(n) for n in range(1, 100)]
    assert len(set(words)) == 99
    for n, w in enumerate(words, start=1):
        assert all(part[0].isupper() for part in w.split())
        assert len(w.split()) == (2 if n > 10 and n % 10 else 1)


def test_masculine_and_apocope():
    assert ordinal_es(19, feminine=False) == "Décimo Noveno"
    assert ordinal_es(3, feminine=False, apocope=True) == "Tercer"
    assert ordinal_es(21, feminine=False, apocope=True, capitalize=False) == "vigésimo primer"


@pytest.mark.parametrize("bad", [0, 100, -1, 1.5, True, "3"])
def test_ordinal_out_of_range(bad):
    with pytest.raises(ValueError):
        ordinal_es(bad)


def test_session_titles():
    assert session_title(19, "regular") == "Décima Novena Sesión Ordinaria"
    assert session_title(3, "special") == "Tercera Sesión Extraordinaria"
    assert session_title(None, "inaugural") == "Sesión de Instalación"
    assert session_title(120, "regular") == "Sesión Ordinaria número 120"


# --------------------------------------------------------------------------- quorum
def member(id_, sector, capacity="member", alternate_for=None, start=None, end=None):
    m = SimpleNamespace(id=id_, sector=sector, capacity=capacity, alternate_for_id=alternate_for,
                        term_start=start, term_end=end)
    m.in_term = lambda on, m=m: on is None or ((m.term_start is None or m.term_start <= on)
                                               and (m.term_end is None or on <= m.term_end))
    return m


def present(*ids, represents=None):
    return [SimpleNamespace(member_id=i, represents_id=None, member=None) for i in ids] + \
        ([SimpleNamespace(member_id=None, represents_id=represents, member=None)] if represents else [])


BODY = [member(1, "government"), member(2, "government"), member(3, "government"),
        member(4, "civil_society"), member(5, "civil_society"), member(6, "guarantor"),
        member(7, "government", "alternate", alternate_for=1), member(8, "academia", "facilitator")]


def test_majority_threshold():
    assert [majority(n) for n in (0, 1, 2, 3, 4, 5, 6, 7)] == [0, 1, 2, 2, 3, 3, 4, 4]


def test_simple_majority_met_and_not_met():
    r = compute_quorum(BODY, present(1, 2, 3, 4), "majority")
    assert (r.seats, r.present, r.required, r.met) == (6, 4, 4, True)
    r = compute_quorum(BODY, present(1, 2, 3), "majority")
    assert (r.present, r.met) == (3, False)


def test_guests_and_facilitators_do_not_count_but_alternates_cover_seats():
    assert compute_quorum(BODY, present(2, 3, 8), "majority").present == 2
    r = compute_quorum(BODY, present(2, 3, 7, 4), "majority")   # 7 is the alternate of seat 1
    assert r.present == 4 and r.met
    r = compute_quorum(BODY, present(1, 7), "majority")          # member and her alternate: one seat
    assert r.present == 1
    r = compute_quorum(BODY, present(2, 3, 4, represents=5), "majority")  # typed-in alternate for seat 5
    assert r.present == 4 and r.met


def test_majority_of_each_sector():
    r = compute_quorum(BODY, present(1, 2, 4, 5, 6), "majority_each_sector")
    assert r.met is True
    by = {s.sector: (s.present, s.total, s.required, s.met) for s in r.sectors}
    assert by == {"government": (2, 3, 2, True), "civil_society": (2, 2, 2, True), "guarantor": (1, 1, 1, True)}
    r = compute_quorum(BODY, present(1, 2, 3, 4, 6), "majority_each_sector")  # overall 5/6 but civil society 1/2
    assert r.met is False


def test_majority_with_every_sector_present():
    assert compute_quorum(BODY, present(1, 2, 3, 4), "majority_all_sectors").met is False   # no guarantor
    assert compute_quorum(BODY, present(1, 2, 4, 6), "majority_all_sectors").met is True


def test_terms_decide_the_seats_of_the_day():
    body = [member(1, "government", end=dt.date(2023, 12, 31)), member(2, "government"),
            member(3, "civil_society", start=dt.date(2024, 1, 1))]
    assert compute_quorum(body, present(2), "majority", on=dt.date(2023, 6, 1)).seats == 2
    r = compute_quorum(body, present(1, 2), "majority", on=dt.date(2024, 6, 1))
    assert (r.seats, r.present, r.required, r.met) == (2, 1, 2, False)


def test_no_seats_means_undetermined():
    r = compute_quorum([], present(1), "majority")
    assert r.met is None and r.seats == 0


def test_unknown_rule():
    with pytest.raises(ValueError):
        compute_quorum(BODY, [], "two_thirds")
