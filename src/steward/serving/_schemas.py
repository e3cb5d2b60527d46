"""The server's OpenAPI descriptions: request bodies (read raw for speed, so described here)
and every response, errors included, with the schema CONTRACT.md gives them."""

from __future__ import annotations

from typing import Any

from steward.errors import StewardError

__all__ = ["ERRORS", "FEEDBACK_BODY", "PREDICT_BODY", "V2_BODY", "documented"]

ERROR_SCHEMA: dict[str, Any] = StewardError.body_schema()
_WHY = {
    200: "OK",
    400: "Malformed request (not JSON, wrong shape)",
    401: "No token, or an invalid or revoked one",
    403: "The token lacks the scope for this endpoint",
    404: "No such endpoint",
    413: "Body too large",
    422: "Inputs do not match the version's signature (each bad field named)",
    503: "Nothing may be served now (the reason is given)",
}
ERRORS = {
    status: {"description": why, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for status, why in _WHY.items()
    if status >= 400
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Response documentation for ``statuses``: errors with the error body; 200 as a JSON
    object (a 503 from a readiness route is a JSON object too)."""
    docs: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 200:
            docs[200] = {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        elif status == 503:
            docs[503] = {
                "description": _WHY[503],
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        else:
            docs[status] = ERRORS[status]
    return docs


_ROWS = {"type": "array", "items": {"type": "object"}}
_CONTEXT = {"oneOf": [{"type": "object"}, _ROWS]}
PREDICT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "One of instances, dataframe_split, dataframe_records, "
                    "inputs; optional context and key.",
                    "properties": {
                        "instances": _ROWS,
                        "dataframe_records": _ROWS,
                        "dataframe_split": {
                            "type": "object",
                            "properties": {
                                "columns": {"type": "array", "items": {"type": "string"}},
                                "data": {"type": "array", "items": {"type": "array"}},
                            },
                            "required": ["columns", "data"],
                        },
                        "inputs": {"oneOf": [{"type": "object"}, _ROWS]},
                        "context": _CONTEXT,
                        "key": {"type": "string"},
                    },
                }
            }
        },
    }
}
V2_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "shape", "datatype", "data"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "shape": {"type": "array", "items": {"type": "integer"}},
                                    "datatype": {"type": "string"},
                                    "data": {"type": "array"},
                                },
                            },
                        },
                        "outputs": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    }
}
FEEDBACK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["labels"],
                    "properties": {
                        "labels": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["request_id", "label"],
                                "properties": {
                                    "request_id": {"type": "string"},
                                    "label": {},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}
