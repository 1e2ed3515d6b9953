"""The line protocol every PyIceberg peer speaks with the Rust harness: one JSON request
per line on stdin, one JSON reply per line on stdout; an exception becomes
``{"error": "..."}``, which the harness reports before it stops.

Every reply also carries the process's memory while it handled the request:
``start_rss_kib`` (RSS before), ``peak_rss_kib`` (peak RSS during) and ``peak_rss_reset``
(whether the kernel's peak mark could be reset first, by writing ``5`` to
``/proc/self/clear_refs``; if not, the peak is the lifetime ``ru_maxrss``), the same
measurement floe-bench makes on its own side (``src/memory.rs``)."""

from __future__ import annotations

import json
import resource
import sys
from typing import Any, Callable


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _with_memory(handle: Callable[[dict[str, Any]], dict[str, Any]], req: dict[str, Any]) -> dict[str, Any]:
    reset = _reset_peak()
    start = _status_kib("VmRSS")
    reply = handle(req)
    peak = _status_kib("VmHWM") if reset else None
    if peak is None:
        reset = False
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if isinstance(reply, dict) and start is not None:
        reply.setdefault("start_rss_kib", start)
        reply.setdefault("peak_rss_kib", max(peak, start))
        reply.setdefault("peak_rss_reset", reset)
    return reply


def serve(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = _with_memory(handle, json.loads(line))
        except Exception as e:  # the harness reports it and stops
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
