"""HTTP/2 conformance cases in the spirit of h2spec, against one server on 127.0.0.1.

    python run.py --port PORT [--pid PID] [--timeout SECONDS] [--only WORD ...]
    python run.py --port PORT --expect-all-fail   (the self-check against blackhole.py)

Each case names the RFC 9113 section whose rule it checks and prints ok or FAIL with
what the server did. --pid is the server's process, for the RSS bounds of the flood
cases. Exits 1 if any case fails (or, with --expect-all-fail, if any passes).
"""

import argparse
import sys
import time
import traceback

import cases_errors  # noqa: F401 (each module registers its cases)
import cases_floods  # noqa: F401
import cases_flow  # noqa: F401
import cases_frames  # noqa: F401
import cases_headers  # noqa: F401
import cases_ping  # noqa: F401
import cases_settings  # noqa: F401
import cases_streams  # noqa: F401
from registry import CASES, Context


def run_case(ctx, item):
    """(passed, message) for one case; connections it opened are closed either way."""
    try:
        note = item.run(ctx)
        return True, note or ""
    except AssertionError as failure:
        return False, str(failure)
    except (OSError, ValueError) as error:  # a refused connect, a malformed frame from the server
        return False, f"{type(error).__name__}: {error}"
    except Exception:  # noqa: BLE001 -- a bug in a case must show, not stop the run
        return False, traceback.format_exc(limit=3).strip().replace("\n", " | ")
    finally:
        ctx.close_all()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, help="the server's process id, for its RSS")
    parser.add_argument("--timeout", type=float, default=2.0, help="longest wait for one expectation")
    parser.add_argument("--label", default="", help="printed before each line (the stack's name)")
    parser.add_argument("--only", nargs="*", default=[], help="run the cases whose name has one of these")
    parser.add_argument("--expect-all-fail", action="store_true",
                        help="self-check: every case must fail against a server that never errs")
    args = parser.parse_args()

    ctx = Context(args.port, args.pid, args.timeout)
    selected = [c for c in CASES if not args.only or any(w in c.run.__name__ for w in args.only)]
    passed = failed = 0
    unexpected = []
    for item in selected:
        started = time.monotonic()
        ok, message = run_case(ctx, item)
        took = time.monotonic() - started
        verdict = "ok  " if ok else "FAIL"
        print(f"{args.label}{verdict} §{item.section} {item.title} [{item.run.__name__}, {took:.2f}s]: {message}",
              flush=True)
        passed += ok
        failed += not ok
        if ok == args.expect_all_fail:
            unexpected.append(item.run.__name__)
    if args.expect_all_fail:
        if unexpected:
            print(f"{args.label}self-check: these cases pass against a server that never errs, so they "
                  f"cannot fail: {', '.join(unexpected)}")
            return 1
        print(f"{args.label}self-check: all {len(selected)} cases fail against a server that never errs")
        return 0
    print(f"{args.label}{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
