"""The shared minutes lifecycle (``comun_cms.minutes_lifecycle``, exported by the toolkit):
transitions with and without review, domain checks passed in by the caller, the plugin's own
error type and messages, locking through a publisher and addenda only after publication."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

import comun_cms.toolkit as toolkit
from comun_cms.minutes_lifecycle import DEFAULT_MESSAGES, STAGES
from comun_cms.toolkit import LifecycleError, MinutesLifecycle, MinutesLifecycleMixin

NOW = dt.datetime(2026, 5, 4, 16, 0, tzinfo=dt.timezone.utc)


def minutes(stage="draft", status="draft"):
    return SimpleNamespace(stage=stage, status=status, approved_at=None, log=[])


class PluginError(LifecycleError):
    pass


def test_the_toolkit_exports_the_lifecycle():
    for name in ("MinutesLifecycle", "MinutesLifecycleMixin", "LifecycleError"):
        assert name in toolkit.__all__
    assert STAGES == ("draft", "review", "approved", "published")


def test_with_review_draft_review_approved_published(app):
    life = MinutesLifecycle(review=True)
    m = minutes()
    assert life.is_editable(m)
    life.submit_for_review(m)
    assert m.stage == "review" and life.is_editable(m)
    life.approve(m, now=NOW)
    assert (m.stage, m.approved_at) == ("approved", NOW) and not life.is_editable(m)
    with pytest.raises(LifecycleError, match="approved"):
        life.ensure_editable(m)
    life.return_to_draft(m)
    assert (m.stage, m.approved_at) == ("draft", None)
    with pytest.raises(LifecycleError):
        life.approve(m, now=NOW)  # review comes first
    life.submit_for_review(m)
    life.approve(m, now=NOW)
    published = []
    pub = life.lock(m, publisher=lambda r: published.append(r) or "PUB")
    assert pub == "PUB" and published == [m] and m.stage == "published"


def test_without_review_approval_starts_from_draft(app):
    life = MinutesLifecycle(review=False)
    m = minutes()
    with pytest.raises(LifecycleError):
        life.submit_for_review(m)
    with pytest.raises(LifecycleError, match="Approve"):
        life.lock(m, publisher=lambda r: "PUB")
    life.approve(m, now=NOW)
    assert m.stage == "approved"
    with pytest.raises(LifecycleError):
        life.approve(m, now=NOW)
    life.return_to_draft(m)
    with pytest.raises(LifecycleError):
        life.return_to_draft(m)  # already a draft


def test_domain_checks_run_before_anything_changes_and_use_the_plugin_error(app):
    life = MinutesLifecycle(review=False, error=PluginError, messages={"not_approvable": "solo borradores"})

    def check(record):
        raise PluginError("falta la fecha", "held_on")

    m = minutes()
    with pytest.raises(PluginError) as exc:
        life.approve(m, now=NOW, check=check)
    assert exc.value.field == "held_on" and m.stage == "draft" and m.approved_at is None
    life.approve(m, now=NOW, after=lambda r: r.log.append("after"))
    assert m.log == ["after"]
    with pytest.raises(PluginError, match="solo borradores"):
        life.approve(m, now=NOW)
    cleared = []
    life.return_to_draft(m, clear=cleared.append)
    assert cleared == [m]
    life.approve(m, now=NOW)
    with pytest.raises(PluginError, match="cuerpo"):
        life.lock(m, publisher=lambda r: "PUB", before=lambda r: (_ for _ in ()).throw(PluginError("cuerpo")))
    assert m.stage == "approved"  # a refused lock changes nothing


def test_locked_minutes_refuse_every_transition_but_addenda(app):
    for review in (True, False):
        life = MinutesLifecycle(review=review)
        m = minutes(stage="published", status="published")
        assert MinutesLifecycleMixin.is_locked.fget(m)
        for attempt in (life.ensure_editable, life.submit_for_review, life.return_to_draft,
                        lambda r: life.approve(r, now=NOW), lambda r: life.lock(r, publisher=lambda x: "PUB")):
            with pytest.raises(LifecycleError):
                attempt(m)
        assert m.stage == "published" and not life.is_editable(m)
        with pytest.raises(LifecycleError, match="locked"):
            life.ensure_editable(m)
        with pytest.raises(LifecycleError, match="reason") as exc:
            life.add_addendum(m, "   ")
        assert exc.value.field == "reason"


def test_addenda_are_only_for_published_minutes(app):
    life = MinutesLifecycle()
    with pytest.raises(LifecycleError, match="Addenda"):
        life.add_addendum(minutes(stage="approved"), "Fe de erratas")


def test_unflushed_records_count_as_drafts(app):
    life = MinutesLifecycle(review=False)
    m = minutes(stage=None, status=None)
    life.ensure_editable(m)
    life.approve(m, now=NOW)
    assert m.stage == "approved"


def test_require_approval_false_publishes_rebuilt_minutes(app):
    life = MinutesLifecycle()
    m = minutes()
    assert life.lock(m, publisher=lambda r: "PUB", require_approval=False) == "PUB"
    assert m.stage == "published"


def test_every_default_message_is_translated(app):
    from flask_babel import force_locale
    with app.test_request_context():
        with force_locale("en"):
            english = {rule: str(message) for rule, message in DEFAULT_MESSAGES.items()}
        with force_locale("es_MX"):
            spanish = {rule: str(message) for rule, message in DEFAULT_MESSAGES.items()}
    assert [rule for rule in english if spanish[rule] == english[rule]] == []
