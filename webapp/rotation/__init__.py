"""Rotation pages: start a rotation, the proactive signals, the collective's ballot; the policy in force
(ROTATION_POLICY, checked when the app starts)."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.rules.rotation import RotationPolicy

POLICY_KEY = "canbo_rotation_policy"


def rotation_policy(app: Flask | None = None) -> RotationPolicy:
    """The ROTATION_POLICY of the configuration, as checked when the app started."""
    return (app or current_app).extensions[POLICY_KEY]
