"""The line protocol every PyIceberg peer speaks with the Rust harness: one JSON request
per line on stdin, one JSON reply per line on stdout; an exception becomes
``{"error": "..."}``, which the harness reports before it stops."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable


def serve(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = handle(json.loads(line))
        except Exception as e:  # the harness reports it and stops
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
