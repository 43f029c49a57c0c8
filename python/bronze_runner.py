#!/usr/bin/env python3
"""bronze_runner.py - runs a bronze-foundry 1.0 extractor class for bronze-extract.

bronze-extract starts it (src/source/custom_command.c) for a config with
``source.custom_extractor: {module: dotted.name, class_name: Name}``:

    python3 bronze_runner.py --module pkg.mod --class Name [--check]

It imports the module from the working directory or PYTHONPATH (then this
folder, which provides ``extractors.base.BaseExtractor`` and
``core.extractors.base``), builds the class with no arguments, calls
``fetch_records(cfg, run_date)`` with the whole config (BRONZE_CONFIG_JSON) as a
dict and the run date (BRONZE_RUN_DATE) as a ``datetime.date``, and writes what
it returns as JSON Lines on its stdout: one object per record (dates,
datetimes, times and decimals as their text), then ``{"_bronze_cursor": ...}``
when the class returned a cursor. The previous cursor is in the environment as
BRONZE_LAST_CURSOR (unset on a first run).

Whatever the class prints goes to stderr (bronze-extract logs it), so
1.0's ``print("[INFO] ...")`` never mixes with the records. A failure is one
``{"_bronze_error": "<the traceback's last line>"}`` line and exit status 1;
the whole traceback goes to stderr. ``--check`` (bronze-extract --dry-run)
imports the module and finds the class, and runs nothing.

Needs only the standard library.
"""

import datetime
import decimal
import importlib
import json
import math
import os
import sys
import traceback
import uuid


class RunnerError(Exception):
    """A contract violation with a message of its own (no traceback needed)."""


def _text(value):
    """JSON for what json cannot write itself."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return "\\x" + data.hex()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return str(value)


def _finite(value):
    """NaN and infinities are not JSON: they are written as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _cursor_text(cursor):
    if cursor is None:
        return None
    if isinstance(cursor, str):
        return cursor
    if isinstance(cursor, (datetime.datetime, datetime.date, datetime.time)):
        return cursor.isoformat()
    return str(cursor)


def _split(result):
    """(records, cursor) from what fetch_records returned."""
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], result[1]
    if isinstance(result, tuple):
        raise RunnerError(
            "fetch_records returned a tuple of %d items; expected (records, new_cursor)"
            % len(result)
        )
    return result, None  # a bare list or iterable: no cursor


def _setup_path():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    sys.path.append(here)


def _args(argv):
    opts = {"module": None, "class": None, "check": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--check":
            opts["check"] = True
        elif a in ("--module", "--class") and i + 1 < len(argv):
            opts[a[2:]] = argv[i + 1]
            i += 1
        else:
            raise RunnerError("bronze_runner.py: unknown argument %r" % a)
        i += 1
    if not opts["module"] or not opts["class"]:
        raise RunnerError("bronze_runner.py: --module and --class are required")
    return opts


def _load(module_name, class_name):
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise RunnerError("module %s has no class %s" % (module_name, class_name))
    if not callable(getattr(cls, "fetch_records", None)):
        raise RunnerError("%s.%s has no fetch_records method" % (module_name, class_name))
    return cls


def _run(opts, out):
    cls = _load(opts["module"], opts["class"])
    if opts["check"]:
        return
    cfg = json.loads(os.environ.get("BRONZE_CONFIG_JSON") or "{}")
    run_date = datetime.date.fromisoformat(os.environ["BRONZE_RUN_DATE"])
    extractor = cls()
    records, cursor = _split(extractor.fetch_records(cfg, run_date))
    n = 0
    for record in records if records is not None else ():
        n += 1
        if not isinstance(record, dict):
            raise RunnerError(
                "record %d is a %s, not a dict: %.80s" % (n, type(record).__name__, repr(record))
            )
        try:
            line = json.dumps(record, default=_text, ensure_ascii=False,
                              separators=(",", ":"), allow_nan=False)
        except ValueError:
            line = json.dumps(_finite(record), default=_text, ensure_ascii=False,
                              separators=(",", ":"), allow_nan=False)
        except TypeError as e:
            raise RunnerError("record %d cannot be written as JSON: %s" % (n, e))
        out.write(line)
        out.write("\n")
    text = _cursor_text(cursor)
    if text is not None:
        out.write(json.dumps({"_bronze_cursor": text}, ensure_ascii=False))
        out.write("\n")


def main(argv):
    # the records channel is our stdout; the class's own prints go to stderr
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", errors="surrogateescape",
                    buffering=1 << 16)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        _setup_path()
        _run(_args(argv), out)
        out.flush()
        return 0
    except RunnerError as e:
        message = str(e)
    except BaseException as e:  # the class's own exception, KeyboardInterrupt included
        if isinstance(e, SystemExit) and e.code in (0, None):
            out.flush()
            return 0
        traceback.print_exc(file=sys.stderr)
        message = traceback.format_exception_only(type(e), e)[-1].strip()
    sys.stderr.flush()
    out.write(json.dumps({"_bronze_error": message}, ensure_ascii=False))
    out.write("\n")
    out.flush()
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
