"""Where the CLI prints: one console for every command, tables kept whole when piped."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output (CI logs, files) keeps whole table rows instead of wrapping at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
