"""The mistakes students make in a02_tabular_regression (hidden: beside the suite, never released or mounted).

Each function below computes, from the inputs of the student's function, the wrong answer one known slip
gives; the suite compares within ``MISTAKES.diagnose(...)`` and, when a student's value fails the
comparison but reproduces exactly one of these (and that one is not also the right answer on those
inputs), the feedback names it with the notebook section that explains it. Written from the notebook's
formulas, independently of the reference.

``make_dummies`` is compared as a view, ``(column names, column values)``, because a DataFrame is not a
value the comparison helpers take: the suite's ``frame_view`` and the view here are the same function, so
the mistakes below return the view of the wrong frame.
"""

import numpy as np
import pandas as pd
import torch

from autograder.testing import Catalogue

CATALOGUE = Catalogue()

ZSCORE = "2. Putting columns on one scale: the z-score"
DUMMIES = "3. Words to numbers: dummy variables"


def frame_view(frame):
    """(list of column names as str, list of the columns' values as numpy arrays), in the frame's order."""
    return [str(name) for name in frame.columns], [frame[name].to_numpy() for name in frame.columns]


def _zscore(t, dim, correction=1, keepdim=False, divide_by=None):
    mean = t.mean(dim=dim, keepdim=True)
    std = t.std(dim=dim, keepdim=True, correction=correction)
    scale = std if divide_by is None else divide_by(std)
    normalized = torch.where(std > 0, (t - mean) / torch.where(scale > 0, scale, torch.ones_like(scale)),
                             torch.zeros_like(t))
    if keepdim:
        return normalized, mean, std
    return normalized, mean.squeeze(dim), std.squeeze(dim)


# ----------------------------------------------------------------- zscore


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="your standard deviation is the population one (divided by n): the notebook asks "
                           "for torch's default, the sample standard deviation (divided by n - 1), as "
                           "t.std(dim=dim) gives it")
def population_std(t, dim=0):
    return _zscore(t, dim, correction=0)


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="your mean and std keep the reduced dimension (keepdim=True): return them with "
                           "that dimension removed, e.g. shape (d,) for a (n, d) table and dim=0")
def kept_dimension(t, dim=0):
    return _zscore(t, dim, keepdim=True)


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="you divided by the variance, not the standard deviation: take its square root")
def divided_by_variance(t, dim=0):
    return _zscore(t, dim, divide_by=lambda s: s ** 2)


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="you normalized along dim 0 whatever dim was asked for: use the dim argument in "
                           "every mean and std")
def ignored_dim(t, dim=0):
    return _zscore(t, 0)


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="you returned (normalized, std, mean): the order is (normalized, mean, std)")
def swapped_mean_and_std(t, dim=0):
    normalized, mean, std = _zscore(t, dim)
    return normalized, std, mean


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="for a constant column you return a standard deviation of 1: replace it by 1 only "
                           "to divide, and return the real one (0)")
def constant_std_returned_as_one(t, dim=0):
    normalized, mean, std = _zscore(t, dim)
    return normalized, mean, torch.where(std > 0, std, torch.ones_like(std))


@CATALOGUE.mistake("zscore", section=ZSCORE,
                   message="your values are only centred (t - mean): divide them by the standard deviation too")
def only_centred(t, dim=0):
    _, mean, std = _zscore(t, dim)
    return t - mean.unsqueeze(dim), mean, std


# ----------------------------------------------------------------- make_dummies


def _dummies(df, columns, drop_first, *, dtype="float32", others_first=True, drop="first", keep_others=True,
             sort_categories=False):
    others = df.drop(columns=list(columns))
    blocks = []
    for name in columns:
        series = df[name]
        if sort_categories and isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(str).astype(object)
        block = pd.get_dummies(series, prefix=name, dtype=dtype)
        if drop_first and drop == "first":
            block = block.iloc[:, 1:]
        elif drop_first and drop == "last":
            block = block.iloc[:, :-1]
        blocks.append(block)
    if not keep_others:
        return pd.concat(blocks, axis=1)
    parts = [others, *blocks] if others_first else [*blocks, others]
    return pd.concat(parts, axis=1)


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="you made a column for every level although drop_first=True: a column with n levels "
                           "needs only n - 1 dummy columns (drop the first level's)")
def every_level(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, False))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="you dropped the last level's column: drop_first drops the first level's (in the "
                           "order pd.get_dummies lists them)")
def dropped_last_level(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, drop="last"))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="your dummy columns are bool (pd.get_dummies' default): ask for dtype='float32'")
def bool_dummies(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, dtype=bool))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="your dummy columns are integers: ask pd.get_dummies for dtype='float32'")
def integer_dummies(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, dtype=np.uint8))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="your dummy columns are float64: ask for dtype='float32'")
def float64_dummies(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, dtype=np.float64))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="your frame holds only the dummy columns: keep the other columns, first, as they were")
def only_dummies(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, keep_others=False))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="your dummy columns come before the other columns: pd.get_dummies keeps the other "
                           "columns first, then the dummies of each column in the order of `columns`")
def dummies_first(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, others_first=False))


@CATALOGUE.mistake("make_dummies", section=DUMMIES,
                   message="for a categorical column you used only the levels present, in sorted order: a "
                           "categorical column's dummies follow its categories, in their order, unused ones "
                           "included")
def categories_as_strings(df, columns, drop_first=True):
    return frame_view(_dummies(df, columns, drop_first, sort_categories=True))
