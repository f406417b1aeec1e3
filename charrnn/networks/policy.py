"""What the product decides about a network, apart from its math: the options the user may give
it, the shapes the recipe may choose it at (and what it trains in place of), and what
inspect-gradients shows of it. Each network's module declares its own `Policy`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Replacement:
    """Where the recipe chooses `cell` at `layers` x `hidden` (by its rule, or its small-text,
    long-budget branch) for a time budget from `min_seconds` to `max_seconds` (the budgets it was
    measured at), the declaring network of the same shape trains instead; `why` ends the recipe's
    line."""

    cell: str
    layers: int
    hidden: int
    min_seconds: float
    max_seconds: float
    why: str


@dataclass(frozen=True)
class Policy:
    summary: str  # one line for --help: "gated recurrent unit"
    # the network-specific options (model.ModelConfig fields) it takes, and why each other one does
    # not apply to it (for the refusal's line)
    takes: frozenset = frozenset()
    refusals: dict = field(default_factory=dict)
    max_layers: int | None = None  # the most layers it can have (None: any number)
    recipe_shapes: tuple = ()  # (layers, hidden) pairs the recipe may choose it at; () = never
    replaces: tuple = ()  # Replacement(s): shapes of another network it trains in place of
    fresh_variants: tuple = ({},)  # option sets that inspect-gradients compares as fresh models
    gradient_path: str = ""  # what one step back through time multiplies the gradient by (inspect-gradients)
