"""Matrix-form machinery: smart constructors (:mod:`.build`); the identities the
simplifier knows, as named rules (:mod:`.rules`, listed by ``matcalc rules``);
the one engine that applies them and logs each firing (:mod:`.rewrite`); and
the tidy pass built on it (:mod:`.simplify`)."""
