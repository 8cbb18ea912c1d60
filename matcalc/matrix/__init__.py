"""Matrix-form machinery: smart constructors (:mod:`.build`) and the tidy
pass that makes results read as a careful person writes them
(:mod:`.simplify`)."""
