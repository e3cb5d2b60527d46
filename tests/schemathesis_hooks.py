"""Schemathesis hooks for the API's fuzzing (``SCHEMATHESIS_HOOKS``): request bodies of the
media types it cannot build by itself — Arrow IPC streams, valid or not; and ``run``, the
fuzzing run the serving and API tests make with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import schemathesis
from hypothesis import strategies as st


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


_VALID = [
    _stream(pa.table({"income": [1.0, None], "debts": [2.0, 3.0], "region": ["north", "x"]})),
    _stream(pa.table({"unknown": ["é", "\u0000"]})),
]

schemathesis.openapi.media_type(
    "application/vnd.apache.arrow.stream", st.sampled_from(_VALID) | st.binary(max_size=512)
)


def run(
    url: str, token: str, cwd: Path, *, max_examples: int, seed: int, only: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` of the OpenAPI document at ``url`` with these hooks loaded, every
    conformance check on, as ``token`` (``only``: a path regex to keep)."""
    here = str(Path(__file__).parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance,status_code_conformance,"
        "content_type_conformance",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        *(["--include-path-regex", only] if only else []),
        "-H",
        f"Authorization: Bearer {token}",
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": path},
    )
