"""HTTP endpoints, one module per resource (see docs/api.md)."""
