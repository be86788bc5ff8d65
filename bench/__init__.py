"""The benchmark: the tutorial preset against our method (see compare.py)."""
