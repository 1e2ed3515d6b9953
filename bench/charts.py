#!/usr/bin/env python3
"""Draws floe-bench's PNG charts with matplotlib (`src/charts.rs` calls it).

Usage: charts.py SPEC.json

SPEC is a JSON list of charts, each::

    {"path": "/abs/out.png", "title": "...", "x_label": "...", "y_label": "...",
     "log_x": false, "log_y": false,
     "series": [{"name": "Floe", "x": [1, 2], "y": [3.0, 4.0],
                 "y_low": [..]?, "y_high": [..]?}]}

`y_low`/`y_high` (optional) draw the min–max spread as a band. Prints the paths written,
one a line.
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw(chart: dict) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for s in chart["series"]:
        (line,) = ax.plot(s["x"], s["y"], marker="o", label=s["name"])
        if s.get("y_low") and s.get("y_high"):
            ax.fill_between(s["x"], s["y_low"], s["y_high"], color=line.get_color(), alpha=0.15)
    if chart.get("log_x"):
        ax.set_xscale("log")
    if chart.get("log_y"):
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(chart["title"])
    ax.set_xlabel(chart["x_label"])
    ax.set_ylabel(chart["y_label"])
    ax.grid(True, which="both", alpha=0.3)
    if len(chart["series"]) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(chart["path"])
    plt.close(fig)
    return chart["path"]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        charts = json.load(f)
    for chart in charts:
        print(draw(chart))


if __name__ == "__main__":
    main()
