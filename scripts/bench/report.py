"""The one table: each figure, its floor from the same run, the ratio, the target."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    """One line of the table. ``ratio`` is value / floor: for a rate, the fraction of the
    floor's rate reached; for a latency or a size, how many floors it takes."""

    workload: str
    figure: str
    value: float | None = None
    unit: str = ""
    floor: float | None = None
    floor_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": None if self.ratio is None else round(self.ratio, 4)}


def measured(
    workload: str,
    figure: str,
    value: float | None,
    unit: str,
    floor: tuple[float, str] | None = None,
    target: tuple[str, float] | None = None,
    note: str = "",
) -> Row:
    """A measured row; ``target`` is (">=" or "<=", bound)."""
    met = None
    text = ""
    if target is not None:
        op, bound = target
        text = f"{op} {_num(bound)}"
        if value is not None:
            met = value >= bound if op == ">=" else value <= bound
    return Row(
        workload,
        figure,
        value,
        unit,
        floor[0] if floor else None,
        floor[1] if floor else "",
        text,
        met,
        note,
    )


def pending(workload: str, figure: str, why: str, target: str = "") -> Row:
    return Row(workload, figure, note=f"pending ({why})", target=target)


def _num(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if v < 1 else f"{v:.2f}"


def render(rows: list[Row]) -> str:
    header = ["workload", "figure", "value", "floor", "ratio", "target", "met?"]
    lines = []
    for r in rows:
        if r.value is None:
            value = r.note or "—"
            floor = ratio = ""
        else:
            value = f"{_num(r.value)} {r.unit}".strip()
            floor = f"{_num(r.floor)} ({r.floor_name})" if r.floor is not None else ""
            ratio = f"{r.ratio:.3g}x" if r.ratio is not None else ""
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append([r.workload, r.figure, value, floor, ratio, r.target, met])
    widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: list[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(header), "-+-".join("-" * w for w in widths)]
    out.extend(fmt(cells) for cells in lines)
    return "\n".join(out)
