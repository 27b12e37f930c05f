"""The base of every management command of ours: quiet when its reader goes away.

`manage.py pipeline status | head -3` closes the pipe after three lines; a plain
Django command then dies with a BrokenPipeError traceback (or Python's
"Exception ignored ... BrokenPipeError" at exit). Commands built on
`BaseCommand` here stop quietly instead, with exit status 141 (128 + SIGPIPE,
what a shell reports for a Unix tool stopped by a closed pipe).
"""

import os
import sys

from django.core.management.base import BaseCommand as DjangoBaseCommand

BROKEN_PIPE_EXIT_STATUS = 141


class BaseCommand(DjangoBaseCommand):
    def run_from_argv(self, argv):
        try:
            try:
                super().run_from_argv(argv)
            finally:
                sys.stdout.flush()  # a closed pipe shows up here (also after --help's exit), not at interpreter exit
        except BrokenPipeError:
            # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(BROKEN_PIPE_EXIT_STATUS)


def table(rows: list[tuple]) -> list[str]:
    """Left-aligned text columns; the first row is the header."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
