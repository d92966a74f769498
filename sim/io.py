"""Atomic writes: every file goes to a temporary name in its folder and is renamed into place.

An interrupted or failed write never leaves a truncated file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """JSON as the standard defines it: a non-finite number (NaN, ±inf: e.g. a standard error of one replica) is
    written as ``null``; numpy scalars and arrays as numbers and lists."""
    text = json.dumps(finite(data), indent=2, default=_json_default, allow_nan=False)

    def write(p: Path) -> None:
        p.write_text(text)
    atomic_write(path, write)


def finite(data: Any) -> Any:
    """``data`` with every non-finite float (Python's or numpy's, also inside arrays) replaced by None."""
    if isinstance(data, float | np.floating):
        return float(data) if np.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    if isinstance(data, np.ndarray):
        return finite(data.tolist())
    return data


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    atomic_write(path, lambda p: pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))
