"""Use cases of competitions, one module per area: setup (competition, lifecycle, marking scheme,
settings), registration (entries, quotas, draw), judging (panels, judges, conflicts), marks (blind
marking, locks, double entry, divergence), results (compute, decode, publish, exports)."""
