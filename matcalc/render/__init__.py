"""Printers: the expression language (:mod:`.text`), LaTeX, the terminal."""
