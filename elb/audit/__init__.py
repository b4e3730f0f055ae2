"""Evidence audit: check every registry claim against the published result files of ELB and EIP."""
from elb.audit.run import run_evidence

__all__ = ["run_evidence"]
