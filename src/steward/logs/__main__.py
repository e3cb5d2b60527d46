"""``python -m steward.logs compact ROOT``: compact the sealed segments of the log in ROOT.

The model server runs this in a child process, so that Parquet (and polars, tens of MB) never
enter a worker and compaction never holds a worker's interpreter. It compacts until no
sealed segment waits, those sealed while it runs included. It runs at a lower CPU priority
(nice 10): it is background work, and under load the workers come first; but not while more
than ``BACKLOG`` sealed segments wait: a load that never lets up would leave a niced child
almost no CPU, and segments would pile up on the disk (~1 GB a minute of 100-row requests).
Behind, it takes its share beside the workers; caught up, it lowers its priority; behind
again once lowered, it stops, and the server starts one at the workers' priority at once.
Exit 0 when done, 1 when a segment was refused for its integrity (named on stderr), 2 for a
bad command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from steward.logs._segment import BACKLOG, sealed_backlog

NICENESS = 10  # below the workers: compaction waits while they score


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "compact":
        print("usage: python -m steward.logs compact ROOT", file=sys.stderr)
        return 2
    from steward.errors import IntegrityError
    from steward.logs import compact_all

    root = Path(argv[1])
    niced = False

    def keep_going() -> bool:
        # Asked before each segment. Behind, at the workers' priority; caught up (BACKLOG
        # or fewer), below it, for good (a process cannot take its priority back). Behind
        # again once niced, it stops: the server starts a child at the workers' priority.
        nonlocal niced
        if sealed_backlog(root) > BACKLOG:
            return not niced
        if not niced:
            os.nice(NICENESS)
            niced = True
        return True

    try:
        compact_all(root, keep_going)
    except IntegrityError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
