"""The version of matcalc, in a module of its own so that any module may read it
without loading the package's face (which loads the pipeline on first use)."""

__version__ = "0.1.0"
