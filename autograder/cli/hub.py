"""``hub``: the classroom JupyterHub: ``start`` it, print the issued passwords (``users``), apply a changed
roster to it (``sync``, alias ``add-course``), and ``remove-accounts`` when a classroom is retired."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.markup import escape

from ..hub.accounts import AccountError, PasswordStore, remove_recorded
from ..hub.classroom import HubError
from ..hub.launcher import run_hub, sync_running_hub
from ..hub.roster import RosterError
from . import output


def say(text: str) -> None:
    output.console.print(text, markup=False, highlight=False, soft_wrap=True)


def hub_command(args: argparse.Namespace) -> int:
    try:
        if args.hub_command == "start":
            return run_hub(args.roster, args.state_dir, host=args.host, port=args.port,
                           user_prefix=args.user_prefix, log=say)
        if args.hub_command == "users":
            return users_command(args.state_dir)
        if args.hub_command in ("sync", "add-course"):
            new, running = sync_running_hub(args.roster, args.state_dir, args.user_prefix)
            for name, password in new.items():
                say(f"  {name:<16} {password}")
            say("the running hub has the roster's people, courses and groups now" if running else
                "no hub is running from this state directory: the changes apply at the next `autograder hub start`")
            return 0
        removed = remove_recorded(args.state_dir.resolve())
        say(f"removed {len(removed)} system users and groups: {', '.join(removed) or 'none'}")
        return 0
    except KeyboardInterrupt:
        say("interrupted before the hub started: nothing is left running; `autograder hub start` again goes on")
        return 130
    except (RosterError, HubError, AccountError) as exc:
        for line in str(exc).splitlines():
            output.console.print(f"[bold red]error:[/] {escape(line)}", markup=True, highlight=False, soft_wrap=True)
        return 2


def users_command(state_dir: Path) -> int:
    store = PasswordStore(state_dir.resolve())
    try:
        issued = store.credentials()
    except PermissionError:
        raise HubError(f"{store.credentials_path} is readable by root only: run this as root") from None
    if not issued:
        raise HubError(f"no passwords issued in {state_dir}: start the hub first (`autograder hub start`)")
    say(f"issued passwords ({store.credentials_path}):")
    for name, password in issued.items():
        say(f"  {name:<16} {password}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.cli.hub start ...``: the same as ``autograder hub start ...``."""
    from .parser import build_parser

    return hub_command(build_parser().parse_args(["hub", *(argv if argv is not None else sys.argv[1:])]))


if __name__ == "__main__":
    sys.exit(main())
