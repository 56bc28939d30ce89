"""Compiles many kfp pipeline scripts in one Python process (kfp imports once).

    python compile_parity.py OUTDIR SCRIPT.py...

Runs each script as `__main__` with argv[1] = OUTDIR/<script stem>.yaml, as if called alone.
Prints `FAIL SCRIPT: error` per script that raises; exits 1 if any did.
"""

import os
import runpy
import sys
import traceback


def main(argv):
    if len(argv) < 2:
        print("usage: compile_parity.py OUTDIR SCRIPT.py...", file=sys.stderr)
        return 2
    out_dir, scripts = argv[0], argv[1:]
    failed = False
    for script in scripts:
        stem = os.path.splitext(os.path.basename(script))[0]
        sys.argv = [script, os.path.join(out_dir, f"{stem}.yaml")]
        try:
            runpy.run_path(script, run_name="__main__")
        except Exception:  # report every script, not just the first failure
            failed = True
            print(f"FAIL {script}: {traceback.format_exc()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
