"""``python -m autograder.hub.service --roster R --state-dir S --port P``: the grading service (JupyterHub runs it)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..roster import RosterError, load_roster
from .app import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.hub.service", description=__doc__)
    parser.add_argument("--roster", type=Path, required=True, help="the classroom's roster (TOML)")
    parser.add_argument("--state-dir", type=Path, required=True, help="the hub's state directory")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 to listen on")
    parser.add_argument("--user-prefix", default=None,
                        help="prefix of the people's system accounts, as the hub was started with "
                             "(default: the roster's [hub] user_prefix)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[grading %(asctime)s %(levelname)s] %(message)s")
    try:
        load_roster(args.roster, user_prefix=args.user_prefix)
    except RosterError as exc:
        print(f"grading service: {exc}", file=sys.stderr)
        return 2
    if not (args.state_dir / "courses").is_dir():
        print(f"grading service: {args.state_dir / 'courses'} does not exist: give the hub's --state-dir "
              "(`autograder hub start` creates it)", file=sys.stderr)
        return 2
    try:
        serve(args.roster.resolve(), args.state_dir.resolve(), args.port, args.user_prefix)
    except OSError as exc:
        print(f"grading service: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}): pick a free port",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
