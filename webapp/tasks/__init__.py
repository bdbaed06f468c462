"""Task pages."""
