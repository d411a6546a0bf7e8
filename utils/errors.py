"""Errors a user can fix, and the wrapper that turns them into one line and an exit code instead of a traceback."""
import sys


class UsageError(Exception):
    """An impossible flag or flag combination (exit code 2, like argparse)."""
    exit_code = 2


class DataError(Exception):
    """A data file that is missing, truncated or corrupt, or cannot be downloaded (exit code 1)."""
    exit_code = 1


def run_cli(main, argv=None):
    """Run `main(argv)`; user-fixable problems end the program with one line on stderr and a non-zero code."""
    try:
        return main(argv)
    except (UsageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except PermissionError as e:
        print(f"error: cannot write {e.filename}: permission denied", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        if e.filename is None:
            raise
        print(f"error: {e.filename}: {e.strerror}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: finished results are on disk; unfinished ones were not written", file=sys.stderr)
        sys.exit(130)
