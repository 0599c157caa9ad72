"""Tests of the criteria plugin (a package, so its module names never clash with other plugins')."""
