"""Org units: the tree in scope, and for administrators creating, renaming and merging units."""
