"""Co-creation plugin: conformance kit, timeline links, consultation form, moderation and
merging, supports, paper import and trees."""
from __future__ import annotations

from comun_cms.toolkit.testing import check_plugin

PLUGIN = "cocreation"


def test_plugin_passes_the_conformance_kit(app):
    report = check_plugin(app, PLUGIN)
    assert report.passed
