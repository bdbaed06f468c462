"""The targets dashboard: how far the unit is from the resolutions' numeric targets, and who is behind each number."""
