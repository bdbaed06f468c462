"""Signing in and out, changing password, choosing the language."""
