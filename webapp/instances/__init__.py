"""Procedure instances: list, detail with diagram and history, start, cancel, comments."""
