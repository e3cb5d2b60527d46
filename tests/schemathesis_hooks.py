"""Schemathesis hooks for the API's fuzzing (``SCHEMATHESIS_HOOKS``): request bodies of the
media types it cannot build by itself — Arrow IPC streams, valid or not."""

from __future__ import annotations

import os
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


def environment() -> dict[str, str]:
    """The environment of a ``schemathesis run`` that loads these hooks."""
    here = str(Path(__file__).parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": path}
