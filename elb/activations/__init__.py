"""Batched extraction, pooling and storage of residual-stream activations."""
