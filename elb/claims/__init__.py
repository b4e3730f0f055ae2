"""Claim model, registry loading and verdict rules."""
