"""Helpers shared by the competition tests."""

from __future__ import annotations

from typing import Any


def forbidden_keys(data: Any, keys: set[str], path: str = "") -> list[str]:
    """Paths of keys in ``keys`` anywhere in a JSON document (blind judging: no names, no ids)."""
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k in keys:
                found.append(f"{path}.{k}")
            found += forbidden_keys(v, keys, f"{path}.{k}")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += forbidden_keys(v, keys, f"{path}[{i}]")
    return found
