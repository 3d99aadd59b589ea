"""Result rows and their rendering: a rich table for the terminal, Markdown for the README."""
from __future__ import annotations

from dataclasses import dataclass, field

MILLION = 1_000_000


@dataclass
class Result:
    benchmark: str             # append | relay | rebuild | verify
    backend: str               # sqlite | postgresql
    events: int
    kernel_seconds: float
    baseline_seconds: float
    kernel_does: str           # what the timed kernel side does
    baseline_does: str         # what the timed baseline does
    min_ratio: float | None = None        # target: kernel/baseline at least this
    max_seconds_1m: float | None = None   # target: kernel time for 1M events at most this
    details: dict = field(default_factory=dict)

    @property
    def kernel_rate(self) -> float:
        return self.events / self.kernel_seconds if self.kernel_seconds > 0 else float("inf")

    @property
    def baseline_rate(self) -> float:
        return self.events / self.baseline_seconds if self.baseline_seconds > 0 else float("inf")

    @property
    def ratio(self) -> float:
        return self.kernel_rate / self.baseline_rate if self.baseline_rate else 0.0

    @property
    def seconds_for_1m(self) -> float:
        """Kernel time for 1M events: measured when ``events`` is 1M, else scaled linearly."""
        return self.kernel_seconds * MILLION / self.events

    @property
    def extrapolated(self) -> bool:
        return self.events != MILLION

    @property
    def target(self) -> str:
        parts = []
        if self.min_ratio is not None:
            parts.append(f"≥{self.min_ratio:g}×")
        if self.max_seconds_1m is not None:
            parts.append(f"1M < {self.max_seconds_1m:g} s")
        return ", ".join(parts) or "— (informative)"

    @property
    def passed(self) -> bool | None:
        if self.min_ratio is None and self.max_seconds_1m is None:
            return None
        ok = True
        if self.min_ratio is not None:
            ok &= self.ratio >= self.min_ratio
        if self.max_seconds_1m is not None:
            ok &= self.seconds_for_1m < self.max_seconds_1m
        return ok

    @property
    def missed_reason(self) -> str:
        if self.min_ratio is not None and self.ratio < self.min_ratio:
            return f"ratio {self.ratio:.2f}× < {self.min_ratio:g}×"
        return f"1M events take {self.seconds_for_1m:.1f} s ≥ {self.max_seconds_1m:g} s"

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]

    @property
    def note(self) -> str:
        notes = [f"kernel {self.kernel_seconds:.2f} s, baseline {self.baseline_seconds:.2f} s"]
        if self.max_seconds_1m is not None or self.benchmark in ("rebuild", "verify", "facilities"):
            how = "extrapolated" if self.extrapolated else "measured"
            notes.append(f"1M events: {self.seconds_for_1m:.1f} s ({how})")
        notes.extend(f"{k} {v}" for k, v in self.details.items())
        return "; ".join(notes)

    def as_dict(self) -> dict:
        return {"benchmark": self.benchmark, "backend": self.backend, "events": self.events,
                "kernel_eps": self.kernel_rate, "baseline_eps": self.baseline_rate,
                "ratio": self.ratio, "target": self.target, "verdict": self.verdict,
                "kernel_seconds": self.kernel_seconds, "baseline_seconds": self.baseline_seconds,
                "kernel_does": self.kernel_does, "baseline_does": self.baseline_does,
                "note": self.note}


COLUMNS = ["benchmark", "backend", "events", "kernel events/s", "baseline events/s", "ratio",
           "target", "pass/fail", "notes"]


def _cells(r: Result) -> list[str]:
    return [r.benchmark, r.backend, f"{r.events:,}", f"{r.kernel_rate:,.0f}", f"{r.baseline_rate:,.0f}",
            f"{r.ratio:.2f}×", r.target, r.verdict, r.note]


def definitions(results: list[Result]) -> list[tuple[str, str, str]]:
    seen, rows = set(), []
    for r in results:
        if r.benchmark not in seen:
            seen.add(r.benchmark)
            rows.append((r.benchmark, r.kernel_does, r.baseline_does))
    return rows


def summary_lines(results: list[Result]) -> list[str]:
    judged = [r for r in results if r.passed is not None]
    met = [r for r in judged if r.passed]
    lines = [f"Targets met: {len(met)} of {len(judged)}."]
    for r in judged:
        if not r.passed:
            lines.append(f"MISSED: {r.benchmark} on {r.backend}: {r.missed_reason}")
    for r in met:
        lines.append(f"met: {r.benchmark} on {r.backend} ({r.target})")
    return lines


def render_markdown(results: list[Result], header: list[str]) -> str:
    out = [f"_{line}_  " for line in header] + [""]
    out.append("| " + " | ".join(COLUMNS) + " |")
    out.append("|" + "|".join("---:" if c in ("events", "kernel events/s", "baseline events/s", "ratio")
                              else "---" for c in COLUMNS) + "|")
    for r in results:
        cells = _cells(r)
        cells[7] = f"**{cells[7]}**" if r.passed is False else cells[7]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out += ["", "| benchmark | kernel side (timed) | baseline side (timed) |", "|---|---|---|"]
    for name, kernel, baseline in definitions(results):
        out.append(f"| {name} | {kernel} | {baseline} |")
    out += [""] + [f"- {line}" for line in summary_lines(results)]
    return "\n".join(out)


def print_rich(results: list[Result], header: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:      # piped: rich would fold everything into 80 columns
        console = Console(width=200)
    table = Table(title="Kernel vs raw baseline (measured side by side, same run)", caption="\n".join(header))
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in ("events", "kernel events/s",
                                                                 "baseline events/s", "ratio") else "left",
                         overflow="fold")
    for r in results:
        style = {True: "green", False: "bold red", None: "dim"}[r.passed]
        cells = _cells(r)
        cells[7] = f"[{style}]{cells[7]}[/]"
        table.add_row(*cells)
    console.print(table)
    legend = Table(title="What each side does")
    for column in ("benchmark", "kernel side (timed)", "baseline side (timed)"):
        legend.add_column(column, overflow="fold")
    for row in definitions(results):
        legend.add_row(*row)
    console.print(legend)
    for line in summary_lines(results):
        style = "bold red" if line.startswith("MISSED") else "green" if line.startswith("met") else "bold"
        console.print(f"[{style}]{line}[/]")
