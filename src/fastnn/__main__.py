"""The command line: ``python -m fastnn tour [--out DIR]`` and ``python -m fastnn playground``.

Runs the lecture end to end (see :mod:`fastnn.tour`), printing what each
step shows and writing its figures into DIR (default ``./tour``) as PNG
files. Works without a display: matplotlib's Agg backend is selected before
anything draws. ``python -m fastnn notebooks`` writes the lecture as Jupyter
notebooks (English and Japanese) and opens them in JupyterLab.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "build_parser", "DEFAULT_OUT"]

DEFAULT_OUT = "tour"  # where the figures go without --out: ./tour
DEFAULT_NOTEBOOKS = "fastnn_notebooks"  # where `notebooks` writes without --out


def build_parser() -> argparse.ArgumentParser:
    from .tour import LANGUAGES, STEP_HELP  # no matplotlib: --help stays quick

    parser = argparse.ArgumentParser(
        prog="python -m fastnn",
        description="fastnn: how deep learning learns, as runnable code.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    width = max(map(len, STEP_HELP)) + 1
    steps = "\n".join(f"  {name:<{width}} {text}" for name, text in STEP_HELP.items())
    tour = commands.add_parser(
        "tour",
        help=f"run the lecture step by step, writing its figures as PNG files into "
        f"./{DEFAULT_OUT} (or --out DIR)",
        description="Run the lecture end to end: each step prints what it shows, with the\n"
        "numbers of this run, and writes its figures as PNG files into --out\n"
        f"(default: ./{DEFAULT_OUT}).",
        epilog=f"steps, in order:\n{steps}\n\nThe same lecture as Jupyter notebooks, in "
        'English and Japanese (pip install "fastnn[notebooks]"):\npython -m fastnn notebooks',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tour.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"directory for the figures, created if missing (default: ./{DEFAULT_OUT})",
    )
    tour.add_argument(
        "--lang",
        choices=LANGUAGES,
        default="en",
        help="language of the narration and the figures (default: en; Japanese figures "
        'need pip install "fastnn[ja]")',
    )
    tour.add_argument(
        "--only",
        nargs="+",
        metavar="STEP",
        help="run only these steps, in the tour's order (names below)",
    )
    tour.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of every split, initialisation and shuffle (default: 0)",
    )
    _add_playground(commands)
    notebooks = commands.add_parser(
        "notebooks",
        help="write the lecture as Jupyter notebooks (English, Japanese) and open them",
        description="Write the lecture as Jupyter notebooks, lecture_en.ipynb and "
        "lecture_ja.ipynb, into --out and open that folder in JupyterLab "
        '(pip install "fastnn[notebooks]").',
    )
    notebooks.add_argument(
        "--out",
        default=DEFAULT_NOTEBOOKS,
        metavar="DIR",
        help=f"directory for the notebooks (default: ./{DEFAULT_NOTEBOOKS})",
    )
    notebooks.add_argument(
        "--no-jupyter", action="store_true", help="only write them; print how to open them"
    )
    notebooks.add_argument(
        "--force", action="store_true", help="write over notebooks that were changed"
    )
    return parser


def _add_playground(commands: Any) -> None:
    """``playground [--port N] [--lang en|ja] [--no-browser] [--host ADDR]``."""
    play = commands.add_parser(
        "playground",
        help="serve the browser playground: the engine learns live while you turn the knobs",
        description="Serve the browser playground (needs the extra fastnn[playground]) at\n"
        "http://127.0.0.1:PORT/ and open it in the default browser. Settings go in\n"
        "the URL: /?dataset=xor&lr=0.1&batch=1&optimizer=adam&hidden=4,4&autoplay=1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    play.add_argument("--port", type=int, default=5006, help="TCP port (default: 5006)")
    play.add_argument(
        "--lang", choices=("en", "ja"), default="en", help="language of the page (default: en)"
    )
    play.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    play.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to listen on (default: 127.0.0.1, this machine only). To serve a "
        "classroom, give this machine's address on the local network (or 0.0.0.0): anyone "
        "who can reach it can then open the page and make the server train",
    )


def _playground(prog: str, args: argparse.Namespace) -> int:
    from .playground import serve

    try:
        serve(port=args.port, host=args.host, lang=args.lang, open_browser=not args.no_browser)
    except (ImportError, ValueError, OSError) as exc:
        print(f"{prog} playground: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, OSError) else 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 2 bad usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "playground":
        return _playground(parser.prog, args)
    if args.command == "notebooks":
        try:
            from .tour.notebooks import open_notebooks

            return open_notebooks(args.out, jupyter=not args.no_jupyter, force=args.force)
        except ImportError as exc:
            print(
                f'{parser.prog} notebooks: error: {exc}; pip install "fastnn[notebooks]"',
                file=sys.stderr,
            )
            return 1
    if args.seed < 0:
        print(f"{parser.prog} tour: error: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 2

    import matplotlib

    matplotlib.use("Agg", force=True)  # no display needed, before anything draws

    from . import tour

    try:
        tour.select_steps(args.only)
    except ValueError as exc:
        print(f"{parser.prog} tour: error: {exc}", file=sys.stderr)
        return 2
    try:
        tour.run(args.out, lang=args.lang, only=args.only, seed=args.seed)
    except OSError as exc:
        print(f"{parser.prog} tour: error: cannot write the figures: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
