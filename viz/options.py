"""The drawing options: one table that ``draw``, ``render``, the animation and the CLI all read.

Each option is a field of :class:`DrawOptions` with its default and its help text; the command
line builds one flag per field from this table, so a new option appears everywhere at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = ["DrawOptions", "Rankdir", "RANKDIRS"]

Rankdir = Literal["LR", "TB"]
RANKDIRS: tuple[Rankdir, ...] = ("LR", "TB")


@dataclass(frozen=True)
class DrawOptions:
    """How a diagram is drawn. Every field is a keyword option of ``draw`` and ``render``."""

    rankdir: Rankdir = field(
        default="LR",
        metadata={"help": "direction of the flow: LR (inputs left, output right) or TB (top down)"},
    )
    precision: int = field(
        default=4,
        metadata={"help": "digits after the decimal point for data, grad and edge labels"},
    )
    edge_grads: bool = field(
        default=False,
        metadata={
            "help": "label each edge into an operation with its local derivative d out/d in "
            "(the chain-rule factor)"
        },
    )
    color: bool = field(
        default=True,
        metadata={"help": "fill each grad by its sign (red < 0, blue > 0) and size, with a legend"},
    )
    cluster: bool = field(
        default=False,
        metadata={
            "help": "group the nodes recorded in each scope (each nn module call, each "
            "`with scope(...)`) in a labelled cluster, nested as the scopes are"
        },
    )
    collapse: bool = field(
        default=False,
        metadata={
            "help": "draw each scope (an nn Neuron, a user's scope) as one box, its repeated "
            "calls folded into it with their count (×100), and fold what repeats alongside"
        },
    )
    max_nodes: int = field(
        default=500,
        metadata={"help": "refuse graphs with more value nodes than this (or try collapse)"},
    )

    def __post_init__(self) -> None:
        if self.rankdir not in RANKDIRS:
            raise ValueError(f"rankdir must be 'LR' or 'TB', not {self.rankdir!r}")
        for name in ("precision", "max_nodes"):
            value = getattr(self, name)
            if type(value) is not int:
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if not 0 <= self.precision <= 17:
            raise ValueError(f"precision must be between 0 and 17, not {self.precision}")
        if self.max_nodes < 1:
            raise ValueError(f"max_nodes must be at least 1, not {self.max_nodes}")
        for name in ("edge_grads", "color", "cluster", "collapse"):
            value = getattr(self, name)
            if type(value) is not bool:
                raise TypeError(f"{name} must be True or False, not {value!r}")

    @classmethod
    def from_keywords(cls, options: dict[str, Any]) -> DrawOptions:
        """The options given by keyword; an unknown name is a TypeError that suggests the
        nearest known one (``colour`` -> ``color``)."""
        known = [f.name for f in fields(cls)]
        for name in options:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(
                    f"unknown drawing option {name!r}{hint} (options: {', '.join(known)})"
                )
        return cls(**options)
