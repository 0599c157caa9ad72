"""Admin pages of the criteria plugin (blueprint ``admin_criteria``, mounted at
``/<tenant>/admin/criterios``): the evaluators' workspace and the secretariat's
self-assessment, replies, evidence checklist and answers to recommendations.

One module per entity, all routing on the blueprint of :mod:`.common`:
:mod:`.overview` (workspace and dashboard widget), :mod:`.frameworks`, :mod:`.cycles`
(cycles, declarations, checklist), :mod:`.assessments` (assessments and replies) and
:mod:`.recommendations`.

Who may do what (roles of the core, per tenant):

=========================================  ==========  =======  =========
action                                     evaluator   admin    editor
=========================================  ==========  =======  =========
see the workspace (drafts included)        yes         yes      yes
import / publish / delete a framework      yes         (1)      no
open a cycle, move its stage, publish it   yes         no       no
declare role and conflicts, assess         yes         no       no
self-assessment (self-assessment stage)    no          yes      yes
reply to an assessment (reply stage)       no          yes      yes
issue a recommendation                     yes         no       no
answer a recommendation, report follow-up  no          yes      yes
=========================================  ==========  =======  =========

(1) platform administrators only. An evaluator only ever edits their own assessments; the
secretariat never edits an evaluator's assessment (it replies). Evaluators cannot edit the
tenant's own content (pages, files, users: core routes require admin/editor).

Every write goes through :func:`comun_cms.toolkit.admin_change`: the change and its audit event
are committed together, or everything is rolled back and the reason shown on the form or flashed.
"""
from __future__ import annotations

# the entity modules register their routes on ``bp`` when imported
from . import assessments, cycles, frameworks, recommendations  # noqa: F401
from .common import bp
from .overview import dashboard_widget

__all__ = ["bp", "dashboard_widget"]
