"""Cadre records: lists, a record with its history, import from Excel/CSV, export."""
