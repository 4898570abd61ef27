"""Pairs of submissions whose solution cells are suspiciously alike, ranked, with the evidence.

Each solution cell of each submission becomes normalised tokens (`.normalize`), then the set of its k-grams
(runs of `GRAM` tokens; a shorter cell is one gram). The grams of the release's own starter code of that cell
(the signature, the stub) are dropped: everyone was given them, they are no evidence.

The rest is weighted by how rare it is in the class (``log((n + 1) / df)``, ``df`` the students who wrote that
gram in that cell): the idiomatic way to write a short answer, which honest students find independently, counts
for little; a stretch two students alone share counts for much (MOSS discounts passages that appear in many
programs for the same reason). Nothing is dropped for being common, so a ring of copies does not hide itself.

A pair's similarity is the weighted Dice coefficient of their grams over every cell, matched by ``grade_id``
(``2 w(A∩B) / (w(A) + w(B))``): a pair of long solutions that agree everywhere ranks above a pair that wrote
one short cell the same way. A pair is reported at or above ``threshold`` with at least `MIN_SHARED` shared
grams, and every cell gets its own score, the lines that matched on either side, and, where the two cells are
the same after normalising, the names that were renamed and the literals that were changed.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .class_cells import ClassCells, shown
from .normalize import MAX_CELL_CHARS, CellTokens, normalize_cell, starter_names

GRAM = 6  # tokens per gram: about one short expression (`return X @ w + b` is 8 tokens)
DEFAULT_THRESHOLD = 0.6
MAX_ALIGNED_TOKENS = 3000  # cells longer than this are not aligned token by token for the renamed names
MAX_DETAILED = 100  # the most alike pairs whose cells are aligned (matched lines, renamed names, changed literals)
GRAM_BLOCK = 4096  # grams per block of the pair matrices
MIN_SHARED = 25  # shared grams a reported pair needs at least: a few short identical lines are no case

Gram = tuple[str, ...]


@dataclass
class Cell:
    """One student's cell: its source, normalised tokens, and distinctive grams with where each starts."""

    source: str
    tokens: CellTokens
    grams: dict[Gram, tuple[int, ...]] = field(default_factory=dict)  # gram -> its token offsets


@dataclass
class CellMatch:
    """The evidence of one cell for one pair: how alike, which lines, and what differs beneath the disguise."""

    key: str
    score: float
    shared: int
    lines_a: frozenset[int]
    lines_b: frozenset[int]
    same_after_normalising: bool
    renamed: list[tuple[str, str]]
    literals_changed: list[tuple[str, str]]
    method: str  # "ast" when both cells parsed, else "tokens"


@dataclass
class Pair:
    a: str
    b: str
    score: float
    shared: int
    cells: list[CellMatch]


@dataclass
class SimilarityReport:
    assignment: str
    threshold: float
    students: list[str]
    pairs: list[Pair]  # at or above the threshold, most alike first
    best_below: Pair | None  # the most alike pair under the threshold, to show how far the rest is
    notes: list[str]  # per student and cell: what could not be compared, or was compared as tokens
    cells: dict[str, dict[str, Cell]]  # student -> cell key -> cell, for the side-by-side evidence
    starter_from: str


def grams_of(tokens: CellTokens) -> dict[Gram, tuple[int, ...]]:
    """Every run of `GRAM` tokens of a cell (the whole cell if shorter), with the offsets where it starts."""
    found: dict[Gram, list[int]] = {}
    count = len(tokens.tokens)
    for start in range(max(count - GRAM + 1, 1 if count else 0)):
        found.setdefault(tuple(tokens.tokens[start:start + GRAM]), []).append(start)
    return {gram: tuple(starts) for gram, starts in found.items()}


def matched_lines(cell: Cell, shared: set[Gram]) -> frozenset[int]:
    """The lines of ``cell`` at least half of whose tokens lie in a shared gram (a gram that only grazes a line,
    through the statement node it opens with, does not mark it)."""
    covered = [False] * len(cell.tokens.tokens)
    for gram in shared:
        for start in cell.grams[gram]:
            covered[start:start + GRAM] = [True] * len(covered[start:start + GRAM])
    total: Counter[int] = Counter(cell.tokens.lines)
    hit: Counter[int] = Counter(line for line, inside in zip(cell.tokens.lines, covered, strict=True) if inside)
    return frozenset(line for line, count in hit.items() if 2 * count >= total[line])


def compare_class(class_cells: ClassCells, threshold: float = DEFAULT_THRESHOLD) -> SimilarityReport:
    """Rank every pair of ``class_cells``' submissions by how alike their distinctive solution code is."""
    keep = {key: starter_names(source) for key, source in class_cells.starter.items()}
    starter_grams = {key: set(grams_of(normalize_cell(source, keep[key]))) for key, source in
                     class_cells.starter.items()}
    notes = [f"{shown(student)}: {why}" for student, why in class_cells.refused.items()]
    cells: dict[str, dict[str, Cell]] = {}
    for submission in class_cells.submissions:
        notes += [f"{shown(submission.student)}: {problem}" for problem in submission.problems]
        own = cells.setdefault(submission.student, {})
        for key, source in submission.cells.items():
            if len(source) > MAX_CELL_CHARS:
                notes.append(f"{shown(submission.student)}: cell {shown(key)} is {len(source) // 1000} kB, over the "
                             f"{MAX_CELL_CHARS // 1000} kB compared: not compared")
                continue
            tokens = normalize_cell(source, keep[key])
            if tokens.note:
                notes.append(f"{shown(submission.student)}: cell {shown(key)} {tokens.note}")
            grams = {g: starts for g, starts in grams_of(tokens).items() if g not in starter_grams[key]}
            own[key] = Cell(source, tokens, grams)
    weights = _weights(cells)
    students = sorted(cells)
    score, count = _pair_scores(cells, weights, students)
    upper = np.triu(np.ones_like(score, dtype=bool), k=1)
    reported = upper & (score >= threshold - 1e-9) & (count >= MIN_SHARED)
    order = sorted(zip(*np.nonzero(reported), strict=True), key=lambda ij: (-score[ij], -count[ij], ij))
    flagged = [_pair(students[i], students[j], cells[students[i]], cells[students[j]], weights,
                     detailed=rank < MAX_DETAILED) for rank, (i, j) in enumerate(order)]
    rest = np.where(upper & ~reported, score, -1.0)
    below = None
    if rest.size and rest.max() >= 0:
        i, j = np.unravel_index(np.argmax(rest), rest.shape)
        below = _pair(students[i], students[j], cells[students[i]], cells[students[j]], weights)
    return SimilarityReport(class_cells.assignment, threshold, students, flagged, below, notes, cells,
                            str(class_cells.starter_from))


def _pair_scores(cells: dict[str, dict[str, Cell]], weights: dict[str, dict[Gram, float]],
                 students: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every pair's similarity and shared gram count at once, as matrix products over blocks of grams.

    A student-by-gram 0/1 matrix ``B`` per cell, weights ``w``: shared weight ``(B * w) @ B.T``, shared count
    ``B @ B.T``, each student's weight ``B @ w``. Blocks of `GRAM_BLOCK` grams keep the memory to
    students x `GRAM_BLOCK` numbers however large the class.
    """
    index = {student: i for i, student in enumerate(students)}
    n = len(students)
    shared, count, mass = np.zeros((n, n)), np.zeros((n, n)), np.zeros(n)
    for key, weight in weights.items():
        column = {gram: j for j, gram in enumerate(weight)}
        w = np.fromiter(weight.values(), dtype=float, count=len(weight))
        rows = [(index[s], np.array(sorted(column[g] for g in own[key].grams), dtype=np.int64))
                for s, own in cells.items() if key in own and own[key].grams]
        for start in range(0, len(w), GRAM_BLOCK):
            stop = min(start + GRAM_BLOCK, len(w))
            block = np.zeros((n, stop - start))
            for i, columns in rows:
                inside = columns[(columns >= start) & (columns < stop)]
                block[i, inside - start] = 1.0
            shared += (block * w[start:stop]) @ block.T
            count += block @ block.T
            mass += block @ w[start:stop]
    total = mass[:, None] + mass[None, :]
    return np.divide(2 * shared, total, out=np.zeros_like(shared), where=total > 0), count


def _weights(cells: dict[str, dict[str, Cell]]) -> dict[str, dict[Gram, float]]:
    """Each cell's grams weighted by how rare they are in the class: ``log((n + 1) / students who wrote it)``."""
    counts: dict[str, Counter[Gram]] = {}
    for own in cells.values():
        for key, cell in own.items():
            counts.setdefault(key, Counter()).update(cell.grams.keys())
    total = len(cells) + 1
    return {key: {gram: math.log(total / count) for gram, count in counter.items()} for key, counter in counts.items()}


def _pair(a: str, b: str, cells_a: dict[str, Cell], cells_b: dict[str, Cell],
          weights: dict[str, dict[Gram, float]], *, detailed: bool = True) -> Pair:
    """The pair's score and each cell's evidence; ``detailed``: align the cells for renamed names and literals."""
    matches = []
    shared_count = 0
    shared_weight = weight_a = weight_b = 0.0
    for key in sorted(set(cells_a) | set(cells_b)):
        grams_a = cells_a[key].grams if key in cells_a else {}
        grams_b = cells_b[key].grams if key in cells_b else {}
        weight = weights.get(key, {})
        mass_a, mass_b = sum(weight[g] for g in grams_a), sum(weight[g] for g in grams_b)
        weight_a += mass_a
        weight_b += mass_b
        shared = grams_a.keys() & grams_b.keys()
        if not shared:
            continue
        mass = sum(weight[g] for g in shared)
        shared_count += len(shared)
        shared_weight += mass
        matches.append(_cell_match(key, cells_a[key], cells_b[key], shared, _dice(mass, mass_a, mass_b), detailed))
    matches.sort(key=lambda match: (-match.score * match.shared, match.key))
    return Pair(a, b, _dice(shared_weight, weight_a, weight_b), shared_count, matches)


def _dice(shared: float, a: float, b: float) -> float:
    return 2 * shared / (a + b) if a + b > 0 else 0.0


def _cell_match(key: str, cell_a: Cell, cell_b: Cell, shared: set[Gram], score: float,
                detailed: bool) -> CellMatch:
    tokens_a, tokens_b = cell_a.tokens, cell_b.tokens
    renamed, literals = _disguise(tokens_a, tokens_b) if detailed else ([], [])
    return CellMatch(
        key=key,
        score=score,
        shared=len(shared),
        lines_a=matched_lines(cell_a, shared) if detailed else frozenset(),
        lines_b=matched_lines(cell_b, shared) if detailed else frozenset(),
        same_after_normalising=tokens_a.tokens == tokens_b.tokens,
        renamed=renamed,
        literals_changed=literals,
        method="ast" if tokens_a.method == tokens_b.method == "ast" else "tokens",
    )


def _disguise(a: CellTokens, b: CellTokens) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Names and literals that differ where the two cells' normalised tokens line up: what a copy changed.

    A name counts as renamed only where it is so consistently: every aligned use of it on one side faces the
    same other name, and that name faces no other (an alignment of two different cells pairs names by chance).
    """
    if max(len(a.tokens), len(b.tokens)) > MAX_ALIGNED_TOKENS:
        return [], []
    faced: dict[str, set[str]] = {}
    facing: dict[str, set[str]] = {}
    order: dict[tuple[str, str], None] = {}
    literals: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a.tokens, b.tokens, autojunk=False)
    for start_a, start_b, size in matcher.get_matching_blocks():
        for i, j in zip(range(start_a, start_a + size), range(start_b, start_b + size), strict=True):
            x, y = a.originals[i], b.originals[j]
            if x is None or y is None:
                continue
            if a.tokens[i].startswith(("Constant:", "NUM", "STR")):
                if x != y:
                    literals.append((x, y))
                continue
            faced.setdefault(x, set()).add(y)
            facing.setdefault(y, set()).add(x)
            order[(x, y)] = None
    renamed = [(x, y) for x, y in order if x != y and faced[x] == {y} and facing[y] == {x}]
    return renamed, literals
