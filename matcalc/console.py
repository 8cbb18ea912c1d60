"""The ``matcalc`` console script: start the CLI, and let an early Ctrl-C end
it with one line rather than a traceback."""

import sys


def run() -> None:
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()
