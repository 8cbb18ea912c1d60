"""``matcalc serve``: a local web page that derives what a person types.

A person types an expression, its symbols and what to differentiate; the page
shows the derivation the command line prints (steps and result as MathML, the
LaTeX, the emitted module, the check's table, errors with their caret).
``POST /api/derive`` answers an expr.yaml document given as JSON with the
object of ``matcalc derive --json``.

- :mod:`.app`: the Starlette application (routes, body limit, status codes);
- :mod:`.worker`: every derivation in a fresh worker process, with a time and
  memory budget;
- :mod:`.jobs`: what a worker runs (``matcalc.derive`` on the document);
- :mod:`.page`: the page's fields as one expr.yaml, the derivation as the page
  shows it, errors placed back in the field they came from;
- :mod:`.mathml`: MathML from the LaTeX matcalc writes (latex2mathml);
- :mod:`.command`: the ``matcalc serve`` command;
- ``static/``: the page itself (HTML, a small script, CSS), served as files.

Starlette, uvicorn and latex2mathml are the optional extra
``matcalc-derive[serve]``; nothing here imports them until the server starts.
"""
