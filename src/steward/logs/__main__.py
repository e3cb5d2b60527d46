"""``python -m steward.logs compact ROOT``: compact the sealed segments of the log in ROOT.

The model server runs this in a short-lived child process, so that Parquet (and polars, tens
of MB) never enter a worker and compaction never holds a worker's interpreter. It runs at a
lower CPU priority (nice 10): it is background work, and under load the workers come first;
but not when more than ``BACKLOG`` sealed segments wait (a load that never lets up would
otherwise leave them to pile up on the disk, ~1 GB a minute of 100-row requests), then it
takes its share beside the workers until the backlog is gone.
Exit 0 when done, 1 when a segment was refused for its integrity (named on stderr), 2 for a
bad command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NICENESS = 10  # below the workers: compaction waits while they score
BACKLOG = 4  # sealed segments waiting (up to 64 MiB each) past which it does not wait


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "compact":
        print("usage: python -m steward.logs compact ROOT", file=sys.stderr)
        return 2
    from steward.errors import IntegrityError
    from steward.logs import compact_all
    from steward.logs._segment import sealed_backlog

    if sealed_backlog(Path(argv[1])) <= BACKLOG:
        os.nice(NICENESS)

    try:
        compact_all(Path(argv[1]))
    except IntegrityError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
