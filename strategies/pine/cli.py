"""Command line: ``pine check FILE... [--json]``.

Prints ``FILE:LINE:COL: error: MESSAGE`` per diagnostic (or a JSON document with inputs, plots,
declaration and diagnostics per file with ``--json``); exit status 1 if any file has an error.
"""

from __future__ import annotations

import argparse
import json
import sys

from .compiler import compile_source


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pine", description="Pine Script v5/v6 checker")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="parse and type-check Pine scripts")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--json", action="store_true", help="print inputs, plots and diagnostics as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    failed = False
    report: dict[str, dict] = {}
    for path in args.files:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                source = fh.read()
        except OSError as exc:
            failed = True
            if args.json:
                report[path] = {"ok": False, "error": f"cannot read file: {exc.strerror}"}
            else:
                print(f"{path}:0:0: error: cannot read file: {exc.strerror}")
            continue
        result = compile_source(source, filename=path)
        failed = failed or not result.ok
        if args.json:
            report[path] = result.to_json()
        else:
            for diag in result.diagnostics:
                print(diag.format(path))
    if args.json:
        print(json.dumps({"files": report}, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
