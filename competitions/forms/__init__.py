"""WTForms and form parsing of the competition HTML pages, one module per area (``setup``, …)."""
