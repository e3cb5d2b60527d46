"""A prediction-log writer for the kill -9 test (run as a script, not collected).

``python _log_writer_proc.py ROOT THREADS``: writes records from THREADS threads, forever,
and prints each request id on its own line only after the future of its submission resolved
(its record is durable). Every third submission holds three records.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from steward.logs import PredictionLog, PredictionRecord, record_time


def main() -> None:
    root, threads = Path(sys.argv[1]), int(sys.argv[2])
    log = PredictionLog(root, max_records=97)
    printing = threading.Lock()

    def work(worker: int) -> None:
        count = 0
        while True:
            size = 3 if count % 3 == 2 else 1
            ids = [f"w{worker}-{count + k}" for k in range(size)]
            records = [
                PredictionRecord(
                    request_id=request_id,
                    time=record_time(),
                    endpoint="credit" if worker % 2 else "fraud",
                    model="credit@1",
                    inputs={"worker": worker, "n": count},
                    context={"client": "kill-test"},
                    outputs={"prediction": count % 2, "probabilities": {"0": 0.4, "1": 0.6}},
                    latency_ms=0.5,
                )
                for request_id in ids
            ]
            log.submit(records).result()
            with printing:
                sys.stdout.write("".join(f"{request_id}\n" for request_id in ids))
                sys.stdout.flush()
            count += size

    for worker in range(threads):
        threading.Thread(target=work, args=(worker,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
