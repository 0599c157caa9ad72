"""Training workshops on a training tenant (``training = true`` in ``tenant.toml``, e.g.
``states/capacitacion``): scenario, exercises, participants and their workspaces, reset and
"check my work".

* :mod:`comun_cms.training.exercises`: the 13 exercises (one per step of the local strategy),
  the core's "write and publish a page" tasks and "check my work";
* :mod:`comun_cms.training.workspaces`: participants and their workspaces, the scenario and its
  snapshots, reset;
* :mod:`comun_cms.training.views`: the web pages under ``/<tenant>/capacitacion/``;
* :mod:`comun_cms.training.cli`: ``comun training load|participants|reset|check|progress|exercises``.

This package re-exports the names of the first two that other modules, the toolkit and tests
use (``from comun_cms import training``; ``training.reset(...)``). The views and commands are
imported from their modules by the application factory and the command line.
"""
from __future__ import annotations

from comun_cms.hooktypes import CheckItem, Participant, TrainingTask
from comun_cms.training.exercises import (
    CORE_TASKS, EXERCISES, STEPS, STRATEGY_DATA, CheckResult, Exercise, TrainingError, check_exercise, exercises,
    get_exercise, page_slug, participant_publications, progress, strategy_steps,
)
from comun_cms.training.workspaces import (
    KEEP_TABLES, PARTICIPANT_ROLES, TRAINING_LABEL, apply_answers, create_participants, dump_tenant, get_workspace,
    load_scenario, logins_sheet, participant, reset, save_snapshot, sheet_path, snapshot_path, training_tenant,
    workspace_of_user, workspaces_of,
)

__all__ = [
    "CORE_TASKS", "EXERCISES", "KEEP_TABLES", "PARTICIPANT_ROLES", "STEPS", "STRATEGY_DATA", "TRAINING_LABEL",
    "CheckItem", "CheckResult", "Exercise", "Participant", "TrainingError", "TrainingTask", "apply_answers",
    "check_exercise", "create_participants", "dump_tenant", "exercises", "get_exercise", "get_workspace",
    "load_scenario", "logins_sheet", "page_slug", "participant", "participant_publications", "progress", "reset",
    "save_snapshot", "sheet_path", "snapshot_path", "strategy_steps", "training_tenant", "workspace_of_user",
    "workspaces_of",
]
