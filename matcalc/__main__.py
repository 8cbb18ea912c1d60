import sys

try:
    from .cli import main
except KeyboardInterrupt:   # Ctrl-C while starting up
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None

main()
