"""Org units: the tree in scope, and for administrators creating, renaming and merging units; the org tree's rules in
force (UNIT_POLICY, checked when the app starts)."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.rules.units import UnitPolicy

POLICY_KEY = "canbo_unit_policy"


def unit_policy(app: Flask | None = None) -> UnitPolicy:
    """The UNIT_POLICY of the configuration, as checked when the app started."""
    return (app or current_app).extensions[POLICY_KEY]
