"""The similarity ranking as one self-contained HTML page: the pairs, then each pair's cells side by side.

Everything on the page that a student wrote (names, code, folder names) is escaped; the page has no script and
loads nothing. It is for the instructor's eyes: `write_page` refuses to put it where nbgrader publishes
feedback to students.
"""

from __future__ import annotations

import html
from pathlib import Path

from ..course.assignment import CourseError
from .similarity import CellMatch, Pair, SimilarityReport

MAX_LINES = 400  # lines of a cell shown on the page; the rest is summarised
MAX_LINE_CHARS = 240
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:110em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}
pre{margin:0;font-size:.85em;white-space:pre-wrap;word-break:break-all}.m{background:#ffd27f}
.code td{border:none;border-right:1px solid #ccc;width:50%}.n{color:#888;text-align:right;width:3em}
.note{color:#555}h3{margin-top:2em}"""


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
        out.append(f"<tr><td><a href='#p{rank}'>{rank}</a></td><td>{e(pair.a)}</td><td>{e(pair.b)}</td>"
                   f"<td>{pair.score:.0%}</td><td>{pair.shared}</td><td>{cells}</td></tr>")
    out.append("</table>")
    for rank, pair in enumerate(report.pairs, 1):
        out.append(_pair_section(report, rank, pair))
    out.append("</body></html>")
    return "\n".join(out)


def _pair_section(report: SimilarityReport, rank: int, pair: Pair) -> str:
    e = html.escape
    out = [f"<h3 id='p{rank}'>{rank}. {e(pair.a)} and {e(pair.b)}: {pair.score:.0%}</h3>"]
    for match in pair.cells:
        source_a = report.cells[pair.a][match.key].source
        source_b = report.cells[pair.b][match.key].source
        out.append(f"<p>{e(cell_summary(match))}</p><table class='code'><tr><th colspan=2>{e(pair.a)}</th>"
                   f"<th colspan=2>{e(pair.b)}</th></tr><tr>{_column(source_a, match.lines_a)}"
                   f"{_column(source_b, match.lines_b)}</tr></table>")
    return "\n".join(out)


def _column(source: str, matched: frozenset[int]) -> str:
    lines = source.splitlines()
    numbers, code = [], []
    for number, line in enumerate(lines[:MAX_LINES], 1):
        mark = " class='m'" if number in matched else ""
        numbers.append(f"<pre>{number}</pre>")
        code.append(f"<pre{mark}>{html.escape(safe_line(line)) or ' '}</pre>")
    if len(lines) > MAX_LINES:
        code.append(f"<pre class='note'>… {len(lines) - MAX_LINES} more lines</pre>")
    return f"<td class='n'>{''.join(numbers)}</td><td>{''.join(code)}</td>"


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
