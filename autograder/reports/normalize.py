"""One solution cell as tokens that survive a disguise: renamed names, new comments, reformatting, changed literals.

`normalize_cell` parses the cell with `ast` and walks it (iteratively: a submission may nest expressions as deep
as the parser allows) into one token per node: the node's kind, a name the cell binds as one placeholder, ``_``
(numbering them instead would let one inserted variable shift every later name; names the cell only reads,
such as ``torch`` or ``range``, attribute names and keyword names stay: they are the API the code calls), every
literal as its type alone. Comments and formatting never
reach the AST; docstrings and other bare strings are dropped. Names the release's starter code uses (the
function's own name and parameters) stay as written.

A cell that does not parse (a syntax error, nesting past the parser's limits, IPython syntax left in) is
tokenised instead, with identifiers, numbers and strings normalised the same way; the result says so.
Every token keeps its line and what it stood for (a name, a literal), so a match can be shown where it is and
what a disguise changed can be named.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field

MAX_CELL_CHARS = 100_000  # a longer cell is not compared (the class report says which and why)
PLACEHOLDER = "_"  # every name the student chose
MAX_TOKENS = 20_000  # tokens kept of one cell: ample for any solution, bounded for a hostile one
# IPython lines (magics, shell escapes) are not Python: blanked, so the rest of the cell still parses.
_IPYTHON_LINE = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)
_FALLBACK_TOKEN = re.compile(
    r"(?P<comment>#[^\n]*)"
    r"|(?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"))"
    r"|(?P<number>\d[\w.]*(?:[eE][+-]?\d+)?j?|\.\d[\w]*)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<newline>\n)"
    r"|(?P<op>\*\*=?|//=?|->|:=|<<=?|>>=?|[-+*/%@&|^<>=!]=|[^\s\w])")


@dataclass
class CellTokens:
    """A cell's normalised tokens, each with its line (1-based) and what it stood for (a name, a literal)."""

    tokens: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    originals: list[str | None] = field(default_factory=list)  # the student's name or literal, else None
    method: str = "ast"  # "ast", or "tokens" when the cell did not parse
    note: str = ""  # why the cell was tokenised, or cut short

    def add(self, token: str, line: int, original: str | None = None) -> None:
        if len(self.tokens) < MAX_TOKENS:
            self.tokens.append(token)
            self.lines.append(line)
            self.originals.append(original)
        elif not self.note:
            self.note = f"only its first {MAX_TOKENS} tokens compared"


def normalize_cell(source: str, keep: frozenset[str] = frozenset()) -> CellTokens:
    """``source`` as normalised tokens; ``keep``: names left as written (the starter code's)."""
    source = _IPYTHON_LINE.sub("", source)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        why = "nested deeper than Python's parser allows" if isinstance(exc, RecursionError | MemoryError) \
            else f"it does not parse as Python ({_reason(exc)})"
        cell = tokenize_fallback(source, keep)
        cell.note = f"compared as tokens: {why}"
        return cell
    return _ast_tokens(tree, keep)


def starter_names(source: str) -> frozenset[str]:
    """Every identifier in the release's starter code of a cell: names a student did not choose."""
    return frozenset(m.group("name") for m in _FALLBACK_TOKEN.finditer(_IPYTHON_LINE.sub("", source))
                     if m.group("name"))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: {exc.msg}"
    return str(exc)[:120] or type(exc).__name__


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the cell itself binds: assigned, parameters, defined, imported as, caught as, matched as."""
    bound: set[str] = set()
    for node in ast.walk(tree):  # breadth first with a queue: no recursion
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias) and node.asname:
            bound.add(node.asname)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
    return bound


def _is_bare_string(node: ast.AST) -> bool:
    """A statement that is only a string: a docstring, or text used as a comment."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _ast_tokens(tree: ast.AST, keep: frozenset[str]) -> CellTokens:
    cell = CellTokens()
    renamed = _bound_names(tree) - keep

    def name(text: str) -> str:
        return PLACEHOLDER if text in renamed else text

    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, line = stack.pop()
        if isinstance(node, ast.expr_context) or _is_bare_string(node):
            continue
        line = getattr(node, "lineno", line)
        kind = type(node).__name__
        if isinstance(node, ast.Name):
            cell.add(f"Name:{name(node.id)}", line, node.id)
        elif isinstance(node, ast.arg):
            cell.add(f"arg:{name(node.arg)}", line, node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            cell.add(f"{kind}:{name(node.name)}", line, node.name)
        elif isinstance(node, ast.Attribute):
            cell.add(f"Attribute:{node.attr}", line)
        elif isinstance(node, ast.keyword):
            cell.add(f"keyword:{node.arg}", line)
        elif isinstance(node, ast.alias):
            cell.add(f"alias:{node.name}:{name(node.asname) if node.asname else ''}", line)
        elif isinstance(node, ast.Constant):
            # The literal's type only: a copy with its learning rate or seed changed still matches.
            cell.add(f"Constant:{type(node.value).__name__}", line, repr(node.value)[:40])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            cell.add(f"{kind}:{','.join(name(n) for n in node.names)}", line)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
            cell.add(f"{kind}:{name(node.name) if node.name else ''}", line)
        elif not isinstance(node, ast.Module):
            cell.add(kind, line)
        # Pre-order, children in source order: the stack takes them reversed.
        stack.extend((child, line) for child in reversed(list(ast.iter_child_nodes(node))))
    return cell


def tokenize_fallback(source: str, keep: frozenset[str] = frozenset()) -> CellTokens:
    """Tokens of text that is not valid Python: names numbered as in the AST form, literals as their kind."""
    cell = CellTokens(method="tokens")
    line = 1
    after_dot = False
    for match in _FALLBACK_TOKEN.finditer(source):
        group = match.lastgroup
        text = match.group()
        if group == "newline":
            line += 1
            continue
        if group == "comment":
            continue
        if group == "string":
            cell.add("STR", line, text[:40])
        elif group == "number":
            cell.add("NUM", line, text[:40])
        elif group == "name":
            plain = after_dot or keyword.iskeyword(text) or text in keep
            cell.add(text if plain else PLACEHOLDER, line, text)
        else:
            cell.add(text, line)
        after_dot = text == "."
        line += text.count("\n")
    return cell
