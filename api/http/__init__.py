"""The HTTP API (see api.http.app)."""
