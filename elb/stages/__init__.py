"""Thin DVC entry points: read params, call the library, write validated artifacts."""
