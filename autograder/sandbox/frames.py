"""pandas DataFrames as plain data: what `wire` sends for a frame, and the strict check of what comes back.

A frame crosses the boundary as its columns, each a name (a str or an int),
a kind and plain values: ``numeric`` and ``bool`` columns as numpy arrays
(the wire's dtypes), ``string`` columns as a list of str (None where
missing), ``category`` columns as their categories (a numeric or string
column) and int codes. The index is one more column, or a ``range``. Nothing
else (object columns of other values, datetimes, nullable extension dtypes, a
MultiIndex) is sent: `FrameError` says which column and why.

`to_tree` turns a frame into that tree, which `wire` encodes like any other
value; `from_tree` rebuilds a frame from a decoded tree, refusing anything
that is not exactly such a tree. Like `wire`, this module is self-contained
(stdlib, numpy; pandas only when a frame is met) and its source is sent into
the student's kernel.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy

MAX_COLUMNS = 2_000
MAX_NAME_CHARS = 200
_NUMERIC = "biuf"  # numpy kinds of bool, signed, unsigned and float columns
_KINDS = {"numeric", "bool", "string", "category", "range"}


class FrameError(ValueError):
    """A frame that cannot cross the boundary, or a tree that is not one."""


def is_frame(value: Any) -> bool:
    """Whether ``value`` is a pandas DataFrame (False, without importing pandas, when pandas was never imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


# ----------------------------------------------------------------- frame to tree


def to_tree(frame: Any) -> dict:
    """The plain tree of ``frame``: ``names``, ``columns`` (one tree each), ``index`` and ``index_name``."""
    import pandas

    if isinstance(frame.columns, pandas.MultiIndex) or isinstance(frame.index, pandas.MultiIndex):
        raise FrameError("a DataFrame with a MultiIndex cannot be sent")
    if frame.shape[1] > MAX_COLUMNS:
        raise FrameError(f"a DataFrame of more than {MAX_COLUMNS} columns cannot be sent")
    names = [_name(name) for name in frame.columns]
    columns = [_column(frame.iloc[:, position], names[position]) for position in range(frame.shape[1])]
    index = frame.index
    if isinstance(index, pandas.RangeIndex):
        index_tree = {"kind": "range", "start": int(index.start), "stop": int(index.stop), "step": int(index.step)}
    else:
        index_tree = _column(pandas.Series(index), "the index")
    index_name = index.name if index.name is None else _name(index.name)
    return {"names": names, "columns": columns, "index": index_tree, "index_name": index_name}


def _name(name: Any) -> str | int:
    if type(name) is str and len(name) <= MAX_NAME_CHARS:
        return name
    if isinstance(name, (int, numpy.integer)) and not isinstance(name, bool) and abs(int(name)) < 2**63:
        return int(name)
    raise FrameError(f"column names must be str (up to {MAX_NAME_CHARS} characters) or int, not {str(name)[:50]!r}")


def _column(series: Any, name: Any) -> dict:
    import pandas

    dtype = series.dtype
    if isinstance(dtype, pandas.CategoricalDtype):
        categories = _column(pandas.Series(dtype.categories), name)
        if categories["kind"] == "category":
            raise FrameError(f"column {name!r}: categories of categories cannot be sent")
        return {"kind": "category", "categories": categories, "ordered": bool(dtype.ordered),
                "codes": numpy.asarray(series.cat.codes.to_numpy(), dtype=numpy.int64)}
    if isinstance(dtype, numpy.dtype) and dtype.kind in _NUMERIC:
        return {"kind": "bool" if dtype.kind == "b" else "numeric", "values": numpy.array(series.to_numpy())}
    if isinstance(dtype, pandas.StringDtype) or (isinstance(dtype, numpy.dtype) and dtype.kind == "O"):
        values = [None if _missing(v) else v for v in series.tolist()]
        if all(v is None or type(v) is str for v in values):
            return {"kind": "string", "values": values}
        odd = next(v for v in values if v is not None and type(v) is not str)
        raise FrameError(f"column {name!r} holds a {type(odd).__name__}: only numbers, bools, strings and "
                         "categories can be sent")
    raise FrameError(f"column {name!r} of dtype {dtype} cannot be sent (numbers, bools, strings and categories can)")


def _missing(value: Any) -> bool:
    return value is None or (type(value) is float and value != value)


# ----------------------------------------------------------------- tree to frame


def from_tree(tree: Any) -> Any:
    """The DataFrame of a decoded tree; `FrameError` for anything but a tree `to_tree` could have made."""
    import pandas

    if type(tree) is not dict or set(tree) != {"names", "columns", "index", "index_name"}:
        raise FrameError("malformed DataFrame")
    names, columns = tree["names"], tree["columns"]
    if type(names) is not list or type(columns) is not list or len(names) != len(columns) or len(names) > MAX_COLUMNS:
        raise FrameError("malformed DataFrame columns")
    for name in [*names, *([] if tree["index_name"] is None else [tree["index_name"]])]:
        if not ((type(name) is str and len(name) <= MAX_NAME_CHARS) or type(name) is int):
            raise FrameError("malformed DataFrame column name")
    index = _index(tree["index"])
    series = [_series(column, len(index)) for column in columns]
    frame = pandas.DataFrame(dict(enumerate(series)), index=range(len(index))) if series else pandas.DataFrame(
        index=range(len(index)))
    frame.columns = pandas.Index(names, dtype=object) if names else frame.columns
    frame.index = index
    frame.index.name = tree["index_name"]
    return frame


def _index(tree: Any) -> Any:
    import pandas

    if type(tree) is dict and tree.get("kind") == "range":
        if set(tree) != {"kind", "start", "stop", "step"} or not all(
                type(tree[key]) is int for key in ("start", "stop", "step")) or tree["step"] == 0:
            raise FrameError("malformed DataFrame range index")
        index = pandas.RangeIndex(tree["start"], tree["stop"], tree["step"])
        if len(index) > 2**40:
            raise FrameError("DataFrame range index too long")
        return index
    return pandas.Index(_series(tree, None))


def _series(tree: Any, length: int | None) -> Any:
    import pandas

    if type(tree) is not dict or tree.get("kind") not in _KINDS - {"range"}:
        raise FrameError("malformed DataFrame column")
    kind = tree["kind"]
    if kind == "category":
        if set(tree) != {"kind", "categories", "ordered", "codes"} or type(tree["ordered"]) is not bool:
            raise FrameError("malformed category column")
        categories, codes = _series(tree["categories"], None), _array(tree["codes"], "i")
        try:
            values = pandas.Categorical.from_codes(codes, categories=pandas.Index(categories),
                                                   ordered=tree["ordered"])
        except (ValueError, TypeError) as exc:  # codes out of range, repeated categories
            raise FrameError(f"malformed category column ({str(exc)[:100]})") from None
        series = pandas.Series(values)
    elif set(tree) != {"kind", "values"}:
        raise FrameError("malformed DataFrame column")
    elif kind == "string":
        values = tree["values"]
        if type(values) is not list or not all(v is None or type(v) is str for v in values):
            raise FrameError("malformed string column")
        series = pandas.Series(values, dtype="str")
    else:
        series = pandas.Series(_array(tree["values"], "b" if kind == "bool" else "iuf"))
    if length is not None and len(series) != length:
        raise FrameError("DataFrame columns of different lengths")
    return series


def _array(value: Any, kinds: str) -> numpy.ndarray:
    if type(value) is not numpy.ndarray or value.ndim != 1 or value.dtype.kind not in kinds:
        raise FrameError("malformed DataFrame column values")
    return value
