"""REST API benchmark: remote commands against embedded ones, API reads under load, and a
large dataset upload against the embedded registration of the same file.

Targets (issue 15): remote ``steward model show --json`` at most 1.5x the embedded command's
wall time; ``GET /api/v1/models/NAME/versions/1`` p50 at most 5 ms and p99 at most 20 ms at
concurrency 16; a 1,000,000-row dataset upload within 1.5x the embedded registration's time,
with the same memory bound (the server's peak RSS growth at most 3x the table's in-memory
size, the bound of ``benchmarks/register.py``; the client's own growth stays small: it
streams the file).

A home with one trained model is served by ``steward serve`` (2 workers) on a loopback port.
The commands run as subprocesses, alternately embedded and remote (``STEWARD_URL``), medians
of ``--repeats``. The load is ``wrk`` (``apt-get install wrk``) for ``--duration`` seconds at
``--concurrency`` after a warm-up; without it a bounded asyncio load of httpx clients stands
in (the client then costs CPU the server would have). The upload's CSV is the registration
benchmark's table (``--rows``); the embedded registration runs in a fresh home first, then
the remote one, each once (they are seconds long).

    .venv/bin/python benchmarks/api.py [--rows N] [--duration S] [--concurrency C] [--smoke]
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from _harness import arguments, report, scratch_home

HERE = Path(__file__).resolve().parent
err = Console(stderr=True)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _steward(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "steward", *args], env=env, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"steward {' '.join(args)}: {done.stderr.decode()[-500:]}")
    return elapsed


def _tree(pid: int) -> Iterator[tuple[Path, str]]:
    """``(/proc entry, status text)`` of ``pid`` and its children."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        ppid = re.search(r"PPid:\s+(\d+)", status)
        if int(proc.name) == pid or (ppid is not None and int(ppid.group(1)) == pid):
            yield proc, status


def _tree_rss_hwm(pid: int) -> int:
    """Peak RSS (bytes) summed over ``pid`` and its children (VmHWM)."""
    total = 0
    for _, status in _tree(pid):
        hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
        total += int(hwm.group(1)) * 1024 if hwm else 0
    return total


def _reset_hwm(pid: int) -> None:
    for proc, _ in _tree(pid):
        try:
            (proc / "clear_refs").write_text("5")
        except OSError:
            continue


def _wrk(url: str, token: str, duration: int, concurrency: int) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "auth.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", "-d2s", "-s", str(script), url],
        capture_output=True,
        check=True,
    )
    done = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        found = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", done)
        assert found, done
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", done)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done)
    return {
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "req_per_s": float(rate.group(1)) if rate else 0.0,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "tool": 0.0,
    }


async def _httpx_load(url: str, token: str, duration: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + duration
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:

        async def one() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                answer = await client.get(url)
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200

        await asyncio.gather(*(one() for _ in range(concurrency)))
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "req_per_s": len(latencies) / duration,
        "non_2xx": 0.0,
        "tool": 1.0,
    }


def _httpx_sync(url: str, token: str, duration: int, concurrency: int) -> dict[str, float]:
    return asyncio.run(_httpx_load(url, token, duration, concurrency))


@contextmanager
def _bare(document: bytes) -> Iterator[str]:
    """The baseline app (``_bare_api.py``), 2 workers, answering ``document``."""
    folder = Path(tempfile.mkdtemp(prefix="steward-bare-api-"))
    (folder / "doc.json").write_bytes(document)
    port = _port()
    env = {**os.environ, "BENCH_DOCUMENT": str(folder / "doc.json"), "PYTHONPATH": str(HERE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "_bare_api:app", "--port", str(port), "--workers",
         "2", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
         "--log-level", "warning"],
        env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/version"
    try:
        for _ in range(300):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def _serve(settings: Any, token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "STEWARD_HOME": str(settings.home), "STEWARD_TOKEN": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "steward", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("steward serve did not start")


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        {"rows": 1_000_000, "duration": 10, "concurrency": 16},
        smoke={"rows": 2_000, "duration": 1, "concurrency": 4},
        repeats=5,
        argv=argv,
    )
    from register import generate_frame  # the registration benchmark's table
    from steward.services import TrainingRequest

    results: dict[str, Any] = {}
    with scratch_home() as home:
        with home.session() as (app, actor):
            import polars as pl

            frame = generate_frame(max(args.rows // 50, 2_000), 7)
            target = "churned"
            frame = frame.with_columns((pl.col("balance") > 2500).cast(pl.Int8).alias(target))
            app.datasets.register(actor, frame.to_pandas(), name="bench", target=target)
            err.print(f"training on {frame.height} rows (target {target})")
            request = TrainingRequest(dataset="bench", name="bench-model", target=target,
                                      checks=False, task="classification")  # fmt: skip
            app.training.train(actor, request)
        server, url = _serve(home.settings, home.token)
        try:
            local = {**os.environ, "STEWARD_HOME": str(home.settings.home),
                     "STEWARD_TOKEN": home.token}  # fmt: skip
            local.pop("STEWARD_URL", None)
            remote = {**local, "STEWARD_URL": url}
            show = ("model", "show", "bench-model@1", "--json")
            embedded, over = [], []
            for _ in range(args.repeats):
                embedded.append(_steward(local, *show))
                over.append(_steward(remote, *show))
            results["model_show"] = {
                "embedded_s": statistics.median(embedded),
                "remote_s": statistics.median(over),
                "ratio": statistics.median(over) / statistics.median(embedded),
            }
            err.print(f"model show: {results['model_show']}")
            read = f"{url}/api/v1/models/bench-model/versions/1"
            load = _wrk if shutil.which("wrk") else _httpx_sync
            results["read"] = load(read, home.token, args.duration, args.concurrency)
            err.print(f"GET a version at c{args.concurrency}: {results['read']}")
            document = httpx.get(read, headers={"Authorization": f"Bearer {home.token}"})
            with _bare(document.content) as bare:
                results["bare_read"] = load(bare, "none", args.duration, args.concurrency)
            err.print(f"bare FastAPI, the same document: {results['bare_read']}")
            results["read_vs_bare"] = {
                "p50": results["read"]["p50_ms"] / results["bare_read"]["p50_ms"],
                "p99": results["read"]["p99_ms"] / results["bare_read"]["p99_ms"],
                "throughput": results["read"]["req_per_s"] / results["bare_read"]["req_per_s"],
            }
            results["upload"] = _upload(args.rows, home, server.pid, remote)
            err.print(f"upload: {results['upload']}")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    show_ok = results["model_show"]["ratio"] <= 1.5
    read_ok = results["read"]["p50_ms"] <= 5 and results["read"]["p99_ms"] <= 20
    up = results["upload"]
    upload_ok = up["ratio"] <= 1.5 and up["server_peak_over_table"] <= 3
    return report("api", args, results, ok=show_ok and read_ok and upload_ok)


def _upload(rows: int, home: Any, server_pid: int, remote: dict[str, str]) -> dict[str, float]:
    """The same CSV registered embedded (a fresh home) and uploaded to the server."""
    from register import generate_frame
    from steward.testing import temporary_home

    folder = Path(tempfile.mkdtemp(prefix="steward-api-bench-"))
    try:
        frame = generate_frame(rows, 11)
        table_bytes = frame.estimated_size()
        path = folder / "big.csv"
        frame.write_csv(path)
        del frame
        with temporary_home("data_scientist", user="bench") as fresh:
            env = {**os.environ, "STEWARD_HOME": str(fresh.settings.home),
                   "STEWARD_TOKEN": fresh.token}  # fmt: skip
            env.pop("STEWARD_URL", None)
            embedded = _steward(env, "dataset", "register", str(path), "--name", "big")
        # warm: the server's first registration imports what registering needs (the PII
        # scan's name lists, pandera...): not the upload's memory
        small = folder / "warm.csv"
        generate_frame(2_000, 5).write_csv(small)
        _steward(remote, "dataset", "register", str(small), "--name", "warm")
        _reset_hwm(server_pid)
        before = _tree_rss_hwm(server_pid)
        started = time.perf_counter()
        client = subprocess.run(
            [sys.executable, "-c",
             "import resource,subprocess,sys;"
             "r=subprocess.run([sys.executable,'-m','steward',*sys.argv[1:]]);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
             "sys.exit(r.returncode)",
             "dataset", "register", str(path), "--name", "big"],
            env=remote, capture_output=True, text=True, check=False,
        )  # fmt: skip
        uploaded = time.perf_counter() - started
        if client.returncode != 0:
            raise RuntimeError(client.stderr[-500:])
        peak = _tree_rss_hwm(server_pid)
        return {
            "rows": float(rows),
            "csv_mb": path.stat().st_size / 2**20,
            "table_mb": table_bytes / 2**20,
            "embedded_s": embedded,
            "remote_s": uploaded,
            "ratio": uploaded / embedded,
            "server_peak_growth_mb": (peak - before) / 2**20,
            "server_peak_over_table": (peak - before) / table_bytes,
            "client_peak_rss_mb": int(client.stdout.strip().splitlines()[-1]) / 1024,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
