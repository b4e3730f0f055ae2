"""The comparator every reader shares: a published number as written against a recomputed value.

A number is parsed as written ("0.960" has three decimals, "93%" is 0.93 with two, "18,100" is 18100), and every
value consistent with its rounding passes (the half-unit band). For a proportion k/n every k whose k/n rounds to the
published number is tried (GRIM-style granularity); none means the published number is impossible at that n. A
value outside the band is DECISION-CHANGING where the claim's criterion (elb.claims.verdict.satisfies) comes out
differently for the published and the recomputed value, else DISCREPANT. Each judgement states how likely a random
value would have passed: the share of k values consistent, or the share of the value's range the band covers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from elb.audit.rows import DECISION_CHANGING, DISCREPANT, INCONSISTENT, REPRODUCED, Scalar
from elb.claims.model import Comparator
from elb.claims.verdict import satisfies

Criterion = tuple[Comparator, float]
Span = tuple[float, float]
UNIT: Span = (0.0, 1.0)      # proportions, AUROCs, purities, probabilities
COSINE: Span = (-1.0, 1.0)


@dataclass(frozen=True)
class Stated:
    """A published number as written: its value and the decimals it was stated with (trailing zeros kept)."""

    text: str
    value: float
    decimals: int

    @classmethod
    def parse(cls, text: str) -> Stated | None:
        """The number `text` states, or None for a label ("WEAK_CONVERGENCE", "True")."""
        plain = text.strip().replace(",", "")
        percent = plain.endswith("%")
        plain = plain.removesuffix("%")
        if not re.fullmatch(r"[+-]?\d+(\.\d+)?", plain):
            return None
        decimals = len(plain.partition(".")[2])
        return cls(text, float(plain) / 100, decimals + 2) if percent else cls(text, float(plain), decimals)

    @property
    def half(self) -> float:
        return 0.5 * 10.0 ** -self.decimals

    def admits(self, value: float) -> bool:
        return math.isfinite(value) and abs(value - self.value) <= self.half + 1e-9

    def counts(self, n: int) -> list[int]:
        """Every k whose k/n rounds to this number."""
        return [k for k in range(n + 1) if self.admits(k / n)]

    def band(self) -> str:
        return f"[{self.value - self.half:.{self.decimals + 1}f}, {self.value + self.half:.{self.decimals + 1}f}]"


@dataclass(frozen=True)
class Judged:
    status: str
    chance: float | None
    note: str


def band_share(stated: Stated, span: Span) -> float:
    """Share of `span` whose values round to `stated` (an integer stated on an integer span: 1 of its integers)."""
    low, high = span
    if stated.decimals == 0 and float(low).is_integer() and float(high).is_integer():
        return 1 / (high - low + 1) if low <= stated.value <= high else 0.0
    covered = min(high, stated.value + stated.half) - max(low, stated.value - stated.half)
    return max(0.0, covered) / (high - low)


def judge(published: str, value: Scalar, *, n: int | None = None, span: Span | None = None,
          criterion: Criterion | None = None) -> Judged:
    """`value` against `published` as written; `n`: the value is a proportion k/n; `span`: its possible range."""
    if value is None:
        return Judged(DISCREPANT, None, "nothing recomputed to compare")
    stated = Stated.parse(published)
    if stated is None or isinstance(value, (bool, str)):
        same = str(value) == published
        return Judged(REPRODUCED if same else DECISION_CHANGING, None, f"label {published!r}")
    chance = band_share(stated, span) if span else None
    note = f"{published} as written admits {stated.band()}"
    if n:
        counts = stated.counts(n)
        chance = len(counts) / (n + 1)
        if not counts:
            return Judged(INCONSISTENT, 0.0, f"no k/{n} rounds to {published}: impossible at this granularity")
        note += f"; k/{n} for k in {counts[0]}..{counts[-1]}" if len(counts) > 1 else f"; only {counts[0]}/{n}"
    if stated.admits(float(value)):
        status = REPRODUCED
    elif criterion and satisfies(stated.value, *criterion) != satisfies(float(value), *criterion):
        status = DECISION_CHANGING
        note += f"; the criterion {criterion[0]} {criterion[1]:g} holds for one value only"
    else:
        status = DISCREPANT
        note += f"; same side of the criterion {criterion[0]} {criterion[1]:g}" if criterion else ""
    if chance is not None:
        note += f"; a random value passes with probability {chance:.3g}"
    return Judged(status, None if chance is None else round(chance, 12), note)
