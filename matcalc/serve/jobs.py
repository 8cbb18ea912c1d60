"""What a worker process runs: ``matcalc.derive`` on one document, answered
as ``(HTTP status, JSON object)``.

- :func:`derive_json`: the body of ``POST /api/derive`` (an expr.yaml document
  as a dict) -> 200 and the object of ``matcalc derive --json``, or 400 and
  ``{"error": {...}}``;
- :func:`derive_page`: the page's fields -> 200 and that object with the steps
  as MathML, the LaTeX document and the expr.yaml the fields make, or 400 and the
  error placed in its field.

A dict is never read as a path and never executed: matcalc parses its
expression with its own parser (:mod:`matcalc.parse`) and loads no YAML tags.
"""

from __future__ import annotations

from ..errors import MatcalcError


def derive_json(document: dict, seed: int = 0) -> tuple[int, dict]:
    """``POST /api/derive``: the --json object (200) or the error (400)."""
    from ..pipeline import derive
    from ..render.report import as_dict

    if not isinstance(document, dict):       # a string would be read as a path
        return 400, {"error": _error("the body must be a JSON object: an expr.yaml document")}
    try:
        result = derive(document, seed=seed)
    except MatcalcError as err:
        return 400, {"error": {**err.as_dict(), "text": err.render()}}
    derivations = result if isinstance(result, list) else [result]
    objects = [as_dict(d) for d in derivations]
    return 200, objects[0] if not isinstance(result, list) else {"derivations": objects}


def derive_page(fields: dict, seed: int = 0) -> tuple[int, dict]:
    """The page's request: the --json object as ``derivation``, and what the page
    shows besides (``blocks``: the steps as MathML; ``latex``; ``yaml``)."""
    from ..pipeline import derive
    from ..render.document import to_latex_document
    from ..render.report import as_dict
    from .page import blocks, compose, placed

    if not isinstance(fields, dict):
        return 400, {"error": _error("the body must be a JSON object of the page's fields")}
    try:
        doc = compose(fields)
    except MatcalcError as err:
        return 400, {"error": {**err.as_dict(), "text": err.render(), "field": None}}
    try:
        d = derive(doc.text, seed=seed)
        d.make_steps()
        return 200, {"derivation": as_dict(d), "blocks": blocks(d), "latex": to_latex_document([d]),
                     "yaml": doc.text}
    except MatcalcError as err:
        return 400, {"error": placed(err, doc), "yaml": doc.text}


def _error(message: str, hint: str | None = None) -> dict:
    """An error object of the API's form, for a request matcalc never saw."""
    return {"kind": "error", "message": message, "line": None, "column": None, "hint": hint,
            "file": None, "path": None, "text": f"error: {message}" + (f"\nhint: {hint}" if hint else "")}


JOBS = {"derive": derive_json, "page": derive_page}
