"""Benchmarks: each module measures its work against a baseline in the same run (``python -m bench``)."""
