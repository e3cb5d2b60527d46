"""``python -m steward.logs compact ROOT``: compact the sealed segments of the log in ROOT.

The model server runs this in a short-lived child process, so that Parquet (and polars, tens
of MB) never enter a worker and compaction never holds a worker's interpreter. It runs at a
lower CPU priority (nice 10): it is background work, and under load the workers come first.
Exit 0 when done, 1 when a segment was refused for its integrity (named on stderr), 2 for a
bad command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NICENESS = 10  # below the workers: compaction waits while they score


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "compact":
        print("usage: python -m steward.logs compact ROOT", file=sys.stderr)
        return 2
    from steward.errors import IntegrityError
    from steward.logs import compact_all

    os.nice(NICENESS)

    try:
        compact_all(Path(argv[1]))
    except IntegrityError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
