"""ELB claims harness: check published claims about empathy representations against real models."""
