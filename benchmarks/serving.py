"""Serving benchmark: ``steward serve`` — token check, input validation against the
signature, durable prediction log (group commit, fdatasync), metrics — against a bare
FastAPI+uvicorn app calling ``predict_proba`` on the same model, under the same load.

The model and load are the peers' harness's (``../shared/peers/serving``): a
HistGradientBoostingClassifier on 20 features, trained on 40k of 50k ``make_classification``
rows; single-row and 100-row bodies (Steward's row objects, and for 100 rows also MLflow's
``dataframe_split``, the body MLflow was measured with), ``wrk`` at concurrency 16 for
``--duration`` seconds after a 2 s warm-up, 2 workers each; loopback only. Reported as ratios
to the bare app measured in the same run (the machine is noisy), beside the peers' figures
measured here (MLflow 66 req/s, BentoML 2 workers 450 req/s, bare 1,213 req/s). Targets: single
rows ≥ 0.8× bare throughput, p99 ≤ 1.5× bare's; 100-row batches ≥ 50,000 rows/s when the
bare app made 66,000 (judged as ≥ 0.76× bare, in either body); idle RSS of the server's process
tree ≤ MLflow's 582 MB, both at their default of one worker (the 2-worker figure is reported
too). Then where the time goes: each step of a request timed in-process.

Without ``wrk`` on the PATH (``apt-get install wrk``), a bounded asyncio load of httpx
clients stands in (the smoke run uses it).

    .venv/bin/python benchmarks/serving.py [--duration 10] [--concurrency 16] [--workers 2]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from _harness import arguments, report, scratch_home

HERE = Path(__file__).resolve().parent
PEERS = {"mlflow_rps": 66.0, "bentoml_2w_rps": 450.0, "bare_measured_rps": 1213.0}
MLFLOW_IDLE_RSS_MB = 582.0
# The issue's 100-row target, 50,000 rows/s when the bare app made 66,000, as a ratio to the
# bare app measured in the same run.
ROWS_100_VS_BARE = 50_000 / 66_000
COLUMNS = [f"f{i}" for i in range(20)]
err = Console(stderr=True)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _model(rows: int) -> tuple[Any, np.ndarray]:
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    x, y = make_classification(
        n_samples=rows, n_features=20, n_informative=10, n_redundant=5, random_state=42
    )
    x_train, x_test, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0)
    model = HistGradientBoostingClassifier(random_state=0)
    model.fit(pd.DataFrame(x_train, columns=COLUMNS), y_train)
    return model, np.ascontiguousarray(x_test[:100])


_POLICY = """\
format: steward.policy/v1
name: bench
selector: {names: ["bench-*"]}
relax_floor: true
stages:
  production:
    documentation: [owner]
"""


def _deployed(home: Any, model: Any) -> tuple[str, str]:
    """Register ``model`` as bench-hgb@1 under a one-rule policy, deploy it to endpoint
    ``bench``; ``(server token, predict token)``."""
    with home.open() as app:
        admin = app.authenticate(home.admin_token)
        sofia, sam = (app.identity.add_user(admin, n, ["steward"])[1] for n in ("sofia", "sam"))
        app.policies.apply(app.authenticate(sofia), _POLICY, "bench.yaml")
        app.policies.endorse(app.authenticate(sam), "bench")
        actor = app.authenticate(home.token)
        version = app.models.register_estimator(actor, model, name="bench-hgb")
        app.deployments.deploy(actor, version.ref, "bench")
        _, predict = app.identity.issue_token(actor, scopes=["predict:bench"])
    return home.token, predict


@contextmanager
def _process(command: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[int]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited: {log.read_text()[-1500:]}")
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"{command[:4]} did not start: {log.read_text()[-1500:]}")
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _compact(env: dict[str, str], home: Any) -> None:
    """The log's sealed segments compacted now, not by a child during the next load (a
    100-row request's compaction is timed on its own, in-process)."""
    logs = str(home.settings.home / "logs")
    subprocess.run([sys.executable, "-m", "steward.logs", "compact", logs], env=env, check=True)


@contextmanager
def _steward(command: list[str], env: dict[str, str], port: int, work: Path) -> Iterator[int]:
    ready = f"http://127.0.0.1:{port}/readyz"
    with _process(command, env, ready, work / "steward.log") as pid:
        time.sleep(3.0)  # /readyz answers once one worker is up: let the rest come
        yield pid


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (from /proc)."""
    total = 0
    for current in (pid, *_descendants(pid)):
        try:
            for line in (Path("/proc") / str(current) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _cpu_ticks(pids: list[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


UNEVEN = 0.3  # a run whose second worker did less than this share is run again (twice at most)


def _balanced_load(pid: int, workers: int, *load: Any) -> tuple[dict[str, Any], float]:
    """``_load(*load)``'s result, and the second-busiest process's share of the CPU the
    server's processes used meanwhile: ~0.5 when 2 workers shared the load, ~0 when every
    connection went to one worker. wrk opens its connections at once and keeps them, and
    the worker that wakes first accepts all it finds: a race of the kernel's wake-ups, not
    the server's speed. Such a run is run again, for both servers alike, and every
    attempt's figures are kept in ``attempts``."""
    attempts: list[dict[str, Any]] = []
    share = 1.0
    for _ in range(3):
        pids = [*_descendants(pid), pid]
        before = _cpu_ticks(pids)
        result = _load(*load)
        after = _cpu_ticks(pids)
        used = sorted((after[p] - before.get(p, 0) for p in after), reverse=True)
        share = used[1] / (sum(used) or 1) if workers > 1 and len(used) > 1 else 1.0
        attempts.append({"rps": result["rps"], "second_worker_share": share})
        if share >= UNEVEN:
            break
    result["attempts"] = attempts
    return result, share


def _wrk(url: str, body: Path, auth: str, concurrency: int, duration: int) -> dict[str, Any]:
    env = {**os.environ, "BENCH_BODY": str(body), "BENCH_AUTH": auth}
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--timeout", "5s"]
    command += ["--latency", "-s", str(HERE / "_post.lua"), url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next(x for x in done.stdout.splitlines() if x.startswith("JSON:"))
    found: dict[str, Any] = json.loads(line[5:])
    return found


def _httpx_load(
    url: str, body: Path, auth: str, concurrency: int, duration: float
) -> dict[str, Any]:
    import httpx

    content = body.read_bytes()
    headers = {"content-type": "application/json", **({"authorization": auth} if auth else {})}
    latencies: list[float] = []
    errors = 0

    async def client(http: httpx.AsyncClient, until: float) -> None:
        nonlocal errors
        while time.monotonic() < until:
            started = time.perf_counter()
            answer = await http.post(url, content=content, headers=headers)
            if answer.status_code != 200:
                errors += 1
            latencies.append(time.perf_counter() - started)

    async def run() -> float:
        async with httpx.AsyncClient(timeout=10) as http:
            started = time.monotonic()
            await asyncio.gather(*(client(http, started + duration) for _ in range(concurrency)))
            return time.monotonic() - started

    elapsed = asyncio.run(run())
    ordered = sorted(latencies) or [0.0]
    return {
        "requests": len(latencies),
        "duration_us": elapsed * 1e6,
        "errors": 0,
        "status_errors": errors,
        "p50_us": ordered[len(ordered) // 2] * 1e6,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6,
        "mean_us": statistics.fmean(ordered) * 1e6,
    }


def _load(url: str, body: Path, auth: str, concurrency: int, duration: int) -> dict[str, Any]:
    run = _wrk if shutil.which("wrk") else _httpx_load
    run(url, body, auth, concurrency, min(2, duration))  # warm-up, discarded
    result = run(url, body, auth, concurrency, duration)
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["tool"] = "wrk" if run is _wrk else "httpx"
    return result


COMPACTED = 200  # 100-row requests compacted in one segment, to time compaction by


def _steps(home: Any, rows: np.ndarray) -> dict[str, float]:
    """Microseconds per step of one single-row request, in-process (median of many)."""
    import orjson

    from steward.logs import PredictionBatch, PredictionLog, compact_all, record_time
    from steward.serving._bodies import parse_predict
    from steward.serving._scoring import request_ids
    from steward.serving._validate import Validator

    with home.open() as app:
        actor = app.authenticate(home.token)
        version, model = app.models.load(actor, "bench-hgb@1")
        token = home.token
        timings: dict[str, list[float]] = {}

        def clock(name: str, work: Any, times: int = 300, per: int = 1) -> Any:
            """Time ``work`` (``per``: the requests one call of it serves)."""
            result = None
            samples = []
            for _ in range(times):
                started = time.perf_counter()
                result = work()
                samples.append((time.perf_counter() - started) * 1e6 / per)
            timings[name] = samples
            return result

        body = orjson.dumps({"instances": [dict(zip(COLUMNS, rows[0].tolist(), strict=True))]})
        validator = Validator(version.signature, pii=(), max_rows=10_000)
        parsed = clock("parse body (orjson)", lambda: parse_predict(body))
        frame = clock("validate into a DataFrame", lambda: validator.frame(parsed))
        array = clock("validate into an array (as served)", lambda: validator.values(parsed))
        clock("predict_proba (DataFrame)", lambda: model.predict_proba(frame))
        with warnings.catch_warnings():  # an array for a model fitted on named columns
            warnings.simplefilter("ignore", UserWarning)
            clock("predict_proba (ndarray, the bare app)", lambda: model.predict_proba(rows[:1]))
            clock(
                "predict_proba (the validated array, as served)", lambda: model.predict_proba(array)
            )
            # a 100-row request calling the model alone, and its share of a call that 8
            # concurrent 100-row requests share (per request)
            eight = np.concatenate([rows[:100]] * 8)
            clock(
                "predict_proba, 100 rows alone (per request)",
                lambda: model.predict_proba(rows[:100]),
            )
            clock(
                "predict_proba, 8 x 100 rows in one call (per request)",
                lambda: model.predict_proba(eight),
                per=8,
            )
        clock("authenticate (no cache: store + ledger replay)", lambda: app.authenticate(token), 50)

        def record(parsed: Any = parsed) -> Any:
            count = parsed.rows
            return PredictionBatch(
                request_ids=request_ids(count),
                time=record_time(),
                endpoint="bench",
                model=version.ref,
                inputs=parsed.columns,
                contexts=[{}] * count,
                outputs=[{"prediction": 1, "probabilities": {"0": 0.1, "1": 0.9}}] * count,
                latency_ms=1.0,
            )

        made = clock("build the log record", record)
        hundred = orjson.dumps(
            {"instances": [dict(zip(COLUMNS, r.tolist(), strict=True)) for r in rows[:100]]}
        )
        parsed_100 = parse_predict(hundred)
        clock("build the log record of a 100-row request", lambda: record(parsed_100))
        folder = Path(home.settings.home) / "bench-log"
        with PredictionLog(folder) as log:
            clock("log write, durable (fdatasync, alone)", lambda: log.submit([made]).result(), 100)
        # What the compaction child spends, later, on each 100-row request it turns to Parquet
        batches = Path(home.settings.home) / "bench-compact"
        with PredictionLog(batches, fsync=False) as log:
            for _ in range(COMPACTED):
                log.append([record(parsed_100)])
        started = time.process_time()
        compact_all(batches)
        spent = (time.process_time() - started) * 1e6 / COMPACTED
        timings["compact a 100-row request's record to Parquet (CPU, a child's)"] = [spent]
    return {name: statistics.median(samples) for name, samples in timings.items()}


def _model_calls(port: int) -> tuple[float, float]:
    """``(rows, calls)`` of the server's model calls so far (its ``/metrics``, all workers)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    totals = {"steward_model_call_rows_sum": 0.0, "steward_model_call_rows_count": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
    return totals["steward_model_call_rows_sum"], totals["steward_model_call_rows_count"]


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        {"duration": 10, "concurrency": 16, "workers": 2, "rows": 50_000},
        smoke={"duration": 1, "concurrency": 2, "workers": 1, "rows": 2_000},
        argv=argv,
    )
    import joblib

    err.print("training the benchmark model…")
    model, rows = _model(args.rows)
    results: dict[str, Any] = {"peers": PEERS}
    with scratch_home("ml_engineer", db_url=None) as home:
        server_token, predict = _deployed(home, model)
        work = Path(home.settings.home).parent
        joblib.dump(model, work / "model.joblib")
        bodies = {}
        for n in (1, 100):
            instances = [dict(zip(COLUMNS, r.tolist(), strict=True)) for r in rows[:n]]
            (work / f"steward_{n}.json").write_text(json.dumps({"instances": instances}))
            (work / f"bare_{n}.json").write_text(json.dumps({"inputs": rows[:n].tolist()}))
            bodies[n] = (work / f"bare_{n}.json", work / f"steward_{n}.json")
        # The body MLflow was measured with (column signature): the columns named once.
        split = {"dataframe_split": {"columns": COLUMNS, "data": rows[:100].tolist()}}
        (work / "steward_100_split.json").write_text(json.dumps(split))
        base_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        bare_port, steward_port = _port(), _port()
        bare_command = [
            sys.executable, "-m", "uvicorn", "_bare_app:app", "--port", str(bare_port),
            "--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        serve = [sys.executable, "-m", "steward", "serve", "--port", str(steward_port)]
        steward_command = [*serve, "--workers", str(args.workers)]
        steward_env = {**base_env, "STEWARD_HOME": str(home.settings.home)}
        steward_env["STEWARD_TOKEN"] = server_token
        bare_env = {**base_env, "BENCH_MODEL": str(work / "model.joblib"), "PYTHONPATH": str(HERE)}
        # Each load on a server of its own, started on a compacted log, so that no load pays
        # for the last one's compaction (the smoke run, which judges nothing, starts each
        # server once).
        split_body = work / "steward_100_split.json"
        bare_runs = [("bare_1", bodies[1][0]), ("bare_100", bodies[100][0])]
        steward_runs = [
            ("steward_1", bodies[1][1]),
            ("steward_100", bodies[100][1]),
            ("steward_100_split", split_body),
        ]
        if args.smoke:
            sessions = [(bare_runs, steward_runs)]
        else:
            sessions = [
                ([bare_runs[0]], [steward_runs[0]]),
                ([bare_runs[1]], steward_runs[1:2]),
                ([], steward_runs[2:]),
            ]
        for bare_loads, steward_loads in sessions:
            if bare_loads:
                err.print(f"bare FastAPI: {', '.join(n for n, _ in bare_loads)}…")
                with _process(bare_command, bare_env, f"http://127.0.0.1:{bare_port}/docs",
                              work / "bare.log") as pid:  # fmt: skip
                    if "bare_idle_rss_mb" not in results:
                        results["bare_idle_rss_mb"] = _tree_rss_mb(pid)
                    url = f"http://127.0.0.1:{bare_port}/predict"
                    for name, run_body in bare_loads:
                        results[name], results[f"{name}_balance"] = _balanced_load(
                            pid, args.workers, url, run_body, "", args.concurrency, args.duration
                        )
            err.print(f"steward serve: {', '.join(n for n, _ in steward_loads)}…")
            _compact(steward_env, home)
            with _steward(steward_command, steward_env, steward_port, work) as pid:
                if "steward_idle_rss_mb" not in results:
                    results["steward_idle_rss_mb"] = _tree_rss_mb(pid)
                url = f"http://127.0.0.1:{steward_port}/predict/bench"
                for name, run_body in steward_loads:
                    calls_before = _model_calls(steward_port)
                    results[name], results[f"{name}_balance"] = _balanced_load(
                        pid,
                        args.workers,
                        url,
                        run_body,
                        f"Bearer {predict}",
                        args.concurrency,
                        args.duration,
                    )
                    called, calls = np.subtract(_model_calls(steward_port), calls_before)
                    results[f"{name}_rows_per_call"] = called / calls if calls else 0.0
        # MLflow's 582 MB is its default server, one worker: Steward's default is one too
        results["steward_idle_rss_1w_mb"] = results["steward_idle_rss_mb"]
        if args.workers != 1:
            with _steward([*serve, "--workers", "1"], steward_env, steward_port, work) as pid:
                results["steward_idle_rss_1w_mb"] = _tree_rss_mb(pid)
        err.print("timing each step in-process…")
        results["steps_us"] = _steps(home, rows)

    bare1, st1, bare100, st100, split100 = (
        results[k] for k in ("bare_1", "steward_1", "bare_100", "steward_100", "steward_100_split")
    )
    ratios = {
        "throughput_vs_bare_1row": st1["rps"] / bare1["rps"],
        "p99_vs_bare_1row": st1["p99_us"] / bare1["p99_us"],
        "vs_mlflow_1row": st1["rps"] / PEERS["mlflow_rps"],
        "vs_bentoml_2w_1row": st1["rps"] / PEERS["bentoml_2w_rps"],
        "rows_per_s_100row": st100["rps"] * 100,
        "bare_rows_per_s_100row": bare100["rps"] * 100,
        "throughput_vs_bare_100row": st100["rps"] / bare100["rps"],
        "rows_per_s_100row_split": split100["rps"] * 100,
        "throughput_vs_bare_100row_split": split100["rps"] / bare100["rps"],
    }
    results["ratios"] = ratios
    errors = sum(
        results[k]["status_errors"] + results[k]["errors"]
        for k in ("steward_1", "steward_100", "steward_100_split")
    )
    ok = (
        ratios["throughput_vs_bare_1row"] >= 0.8
        and ratios["p99_vs_bare_1row"] <= 1.5
        and ratios["vs_mlflow_1row"] >= 15
        and ratios["vs_bentoml_2w_1row"] >= 2
        and max(ratios["throughput_vs_bare_100row"], ratios["throughput_vs_bare_100row_split"])
        >= ROWS_100_VS_BARE
        and results["steward_idle_rss_1w_mb"] <= MLFLOW_IDLE_RSS_MB
        and errors == 0
    )
    lines = [
        f"load: {st1['tool']}, concurrency {args.concurrency}, {args.workers} workers, "
        f"{args.duration} s",
        f"1-row   bare {bare1['rps']:8.0f} req/s p99 {bare1['p99_us'] / 1000:6.1f} ms | steward "
        f"{st1['rps']:8.0f} req/s p99 {st1['p99_us'] / 1000:6.1f} ms | "
        f"{ratios['throughput_vs_bare_1row']:.2f}x bare, p99 {ratios['p99_vs_bare_1row']:.2f}x, "
        f"{ratios['vs_mlflow_1row']:.1f}x MLflow, {ratios['vs_bentoml_2w_1row']:.1f}x BentoML-2w",
        f"100-row bare {ratios['bare_rows_per_s_100row']:8.0f} rows/s | steward "
        f"{ratios['rows_per_s_100row']:8.0f} rows/s ({ratios['throughput_vs_bare_100row']:.2f}x) "
        f"as row objects, {ratios['rows_per_s_100row_split']:8.0f} rows/s "
        f"({ratios['throughput_vs_bare_100row_split']:.2f}x) as dataframe_split (MLflow's body); "
        f"target {ROWS_100_VS_BARE:.2f}x bare (50,000 rows/s when bare made 66,000)",
        f"idle RSS: steward {results['steward_idle_rss_1w_mb']:.0f} MB with 1 worker (the "
        f"default, as MLflow's {MLFLOW_IDLE_RSS_MB:.0f} MB), {results['steward_idle_rss_mb']:.0f}"
        f" MB with {args.workers}; bare {results['bare_idle_rss_mb']:.0f} MB with "
        f"{args.workers}",
        f"non-200 answers from steward: {errors}",
        "second worker's share of the server's CPU (0.5: even; runs under "
        f"{UNEVEN} run again): "
        + ", ".join(
            f"{k} {results[k + '_balance']:.2f} ({len(results[k]['attempts'])} run(s))"
            for k in ("bare_1", "steward_1", "bare_100", "steward_100", "steward_100_split")
        ),
        "rows per model call (requests sharing a call): "
        + ", ".join(
            f"{k} {results[k + '_rows_per_call']:.1f}"
            for k in ("steward_1", "steward_100", "steward_100_split")
        ),
        "per single-row request, in-process (median µs):",
        *(f"  {name}: {us:.0f}" for name, us in results["steps_us"].items()),
    ]
    return report("serving", args, results, ok=ok, lines=lines)


if __name__ == "__main__":
    sys.exit(main())
