"""nbgrader's feedback pages, as the classroom needs them: formulas rendered offline, hidden-test messages held back.

- `OfflineMathHTMLExporter` is nbconvert's ``HTMLExporter`` with MathJax inlined in the page (``c.GenerateFeedback
  .exporter_class``, set by `.config.configure`). nbgrader's feedback template calls nbconvert's ``mathjax()``
  macro, which loads MathJax 2 from a CDN; the classroom has no internet. This exporter gives its Jinja
  environment a ``mathjax.html.j2`` of its own (nbconvert's ``extra_loaders``, tried before the template
  folders) whose macro puts MathJax 3 (``tex-svg.js``, self-contained: fonts as SVG paths) inside the page, so a
  feedback file renders its formulas wherever it is opened, with no server behind it.
- `HideHiddenTestMessages` is a ``GenerateFeedback`` preprocessor for feedback released before the deadline:
  each hidden test's failure message becomes its name and the points it lost, rewritten from the job's record.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import DictLoader
from nbconvert.exporters import HTMLExporter
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode, default

from ..grading.job import GradingRecords
from ..grading.results import JobResult
from .preprocessor import cell_feedback

MATHJAX_FILE = Path(__file__).resolve().parents[2] / "hub_config" / "node_modules" / "mathjax" / "es5" / "tex-svg.js"

# MathJax 3 reads `window.MathJax` as its configuration when it loads; `$...$` as in Jupyter's markdown.
_MATHJAX_CONFIG = """<script>
window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
                        processEscapes: true, processEnvironments: true},
                  svg: {fontCache: 'global'}};
</script>
"""


def offline_mathjax_macro(source: str) -> str:
    """A ``mathjax.html.j2`` whose ``mathjax(url)`` macro inlines ``source`` (MathJax's JavaScript) instead of a URL."""
    if "</script" in source.lower():  # would end the inline script early
        raise ValueError("this MathJax build contains '</script': it cannot be inlined in a page")
    return ("{%- macro mathjax(url=None) -%}\n" + _MATHJAX_CONFIG + "<script>{% raw %}" + source
            + "{% endraw %}</script>\n{%- endmacro %}\n")


class OfflineMathHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose pages carry MathJax inline: formulas render with no internet."""

    mathjax_file = Unicode(
        str(MATHJAX_FILE),
        help="MathJax 3's self-contained tex-svg.js, inlined in every feedback page (installed by `make setup` "
             "under hub_config/node_modules). Missing, pages link MathJax from its CDN as nbconvert does.",
    ).tag(config=True)

    @default("extra_loaders")
    def _offline_mathjax_loader(self) -> list:
        path = Path(self.mathjax_file)
        if not path.is_file():
            self.log.warning("MathJax not found at %s: feedback formulas need the internet to render; run "
                             "`make setup` (it installs hub_config/node_modules) or set "
                             "c.OfflineMathHTMLExporter.mathjax_file", path)
            return []
        return [DictLoader({"mathjax.html.j2": offline_mathjax_macro(path.read_text(encoding="utf-8"))})]


class HideHiddenTestMessages(NbGraderPreprocessor):
    """Feedback before the deadline: each hidden test shows its name and points lost, not its message."""

    records_dir = Unicode(
        "", help="The course's grading records; defaults to <nbgrader course directory>/grading_results.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        root = Path(CourseDirectory(config=self.config).root)
        records = GradingRecords(Path(self.records_dir or root / "grading_results"))
        result = JobResult.load(records.path(info["assignment"], info["student"], info["notebook"]))
        if result is None:
            return nb, resources
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            shown = cell_feedback(result, meta["grade_id"])
            for output in cell.get("outputs", []):
                # Our own feedback output (written by `.preprocessor.write_feedback`), recognised by its exact text.
                if output.get("output_type") == "stream" and output.get("text") == shown:
                    output["text"] = cell_feedback(result, meta["grade_id"], hide_messages=True)
        return nb, resources
