"""The similarity ranking as one self-contained HTML page: the pairs, then each pair's cells side by side.

Everything on the page that a student wrote (names, code, folder names) is escaped; the page has no script and
loads nothing. It is for the instructor's eyes: `write_page` refuses to put it where nbgrader publishes
feedback to students.
"""

from __future__ import annotations

import html
from pathlib import Path

from ..course.assignment import CourseError
from .similarity import MAX_DETAILED, CellMatch, Pair, SimilarityReport

MAX_LINES = 400  # lines of a cell shown on the page; the rest is summarised
MAX_LINE_CHARS = 240
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:110em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}
pre{margin:0;font-size:.85em;white-space:pre-wrap;word-break:break-all}.m{background:#ffd27f}
table.code{width:100%;table-layout:fixed}.code td{border:none;padding:0 .4em}.code td.n{color:#888;text-align:right}
.code td.b{border-left:1px solid #ccc}.note{color:#555}h3{margin-top:2em}"""


def safe_line(line: str) -> str:
    """A line of a student's code as printable text: control characters spelled out, long lines cut."""
    text = "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in line[:MAX_LINE_CHARS])
    return text + (" …" if len(line) > MAX_LINE_CHARS else "")


def cell_summary(match: CellMatch) -> str:
    """What matched in one cell, in a line: its score, and the disguise where the two are the same beneath it."""
    parts = [f"{match.key} {match.score:.0%}"]
    if match.same_after_normalising:
        parts.append("same code after normalising")
    if match.renamed:
        parts.append("renamed " + ", ".join(f"{a}→{b}" for a, b in match.renamed[:6])
                     + (" …" if len(match.renamed) > 6 else ""))
    if match.literals_changed:
        parts.append("literals changed " + ", ".join(f"{a}→{b}" for a, b in match.literals_changed[:4])
                     + (" …" if len(match.literals_changed) > 4 else ""))
    if match.method == "tokens":
        parts.append("compared as tokens (a cell did not parse)")
    return "; ".join(parts)


def render_page(report: SimilarityReport) -> str:
    e = html.escape
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similarity: {e(report.assignment)}</title>"
           f"<style>{_STYLE}</style></head><body><h1>Similarity of {e(report.assignment)}</h1>",
           f"<p>{len(report.students)} submissions compared; {len(report.pairs)} pairs at or above "
           f"{report.threshold:.0%}. Starter code from {e(report.starter_from)} does not count. Instructors "
           "only: never share this page with students.</p>"]
    if report.best_below:
        below = report.best_below
        out.append(f"<p class='note'>Most alike pair under the threshold: {e(below.a)} and {e(below.b)}, "
                   f"{below.score:.0%}.</p>")
    if report.notes:
        out.append("<h2>Not compared, or compared as tokens</h2><ul>")
        out += [f"<li>{e(safe_line(note))}</li>" for note in report.notes]
        out.append("</ul>")
    out.append("<h2>Pairs</h2><table><tr><th>#</th><th>student</th><th>student</th><th>similarity</th>"
               "<th>shared grams</th><th>cells</th></tr>")
    for rank, pair in enumerate(report.pairs, 1):
        cells = "<br>".join(e(cell_summary(m)) for m in pair.cells)
        anchor = f"<a href='#p{rank}'>{rank}</a>" if rank <= MAX_DETAILED else str(rank)
        out.append(f"<tr><td>{anchor}</td><td>{e(pair.a)}</td><td>{e(pair.b)}</td>"
                   f"<td>{pair.score:.0%}</td><td>{pair.shared}</td><td>{cells}</td></tr>")
    out.append("</table>")
    for rank, pair in enumerate(report.pairs[:MAX_DETAILED], 1):
        out.append(_pair_section(report, rank, pair))
    if len(report.pairs) > MAX_DETAILED:
        out.append(f"<p class='note'>The cells of the {MAX_DETAILED} most alike pairs are shown; raise --threshold "
                   "to see fewer pairs.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _pair_section(report: SimilarityReport, rank: int, pair: Pair) -> str:
    e = html.escape
    out = [f"<h3 id='p{rank}'>{rank}. {e(pair.a)} and {e(pair.b)}: {pair.score:.0%}</h3>"]
    for match in pair.cells:
        source_a = report.cells[pair.a][match.key].source
        source_b = report.cells[pair.b][match.key].source
        out.append(f"<p>{e(cell_summary(match))}</p>{_side_by_side(pair, source_a, source_b, match)}")
    return "\n".join(out)


def _side_by_side(pair: Pair, source_a: str, source_b: str, match: CellMatch) -> str:
    """The two cells in one table, a row per line, the lines that matched marked on each side."""
    e = html.escape
    lines_a, lines_b = source_a.splitlines(), source_b.splitlines()
    rows = [f"<table class='code'><colgroup><col style='width:3em'><col><col style='width:3em'><col></colgroup>"
            f"<tr><th colspan=2>{e(pair.a)}</th><th colspan=2>{e(pair.b)}</th></tr>"]
    for number in range(1, min(max(len(lines_a), len(lines_b)), MAX_LINES) + 1):
        rows.append(f"<tr>{_cell(lines_a, number, match.lines_a, '')}{_cell(lines_b, number, match.lines_b, 'b')}"
                    "</tr>")
    longest = max(len(lines_a), len(lines_b))
    if longest > MAX_LINES:
        rows.append(f"<tr><td colspan=4 class='note'>… {longest - MAX_LINES} more lines</td></tr>")
    return "".join(rows) + "</table>"


def _cell(lines: list[str], number: int, matched: frozenset[int], side: str) -> str:
    if number > len(lines):
        return f"<td class='n {side}'></td><td></td>"
    mark = " class='m'" if number in matched else ""
    return (f"<td class='n {side}'><pre>{number}</pre></td>"
            f"<td><pre{mark}>{html.escape(safe_line(lines[number - 1])) or ' '}</pre></td>")


def check_page_path(path: Path, course_dir: Path) -> Path:
    """``path`` resolved, refused inside the course's ``feedback/`` or ``release/`` (what students are sent)."""
    target = path.resolve()
    for published in ("feedback", "release"):
        if target.is_relative_to((course_dir / published).resolve()):
            raise CourseError(f"{path} is inside {course_dir / published}, which nbgrader hands to students: "
                              "write the similarity page somewhere only instructors read")
    return target


def write_page(report: SimilarityReport, path: Path, course_dir: Path) -> Path:
    """Write the page to ``path`` (see `check_page_path`)."""
    target = check_page_path(path, course_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_page(report), encoding="utf-8")
    return target
