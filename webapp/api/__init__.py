"""The JSON API (`/api/v1`, described at `/api/openapi.json`): bearer tokens only, org scope on every object."""
