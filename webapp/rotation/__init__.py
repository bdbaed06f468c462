"""Rotation pages: start a rotation, the proactive signals, the collective's ballot."""
