"""Bulk import of workers from XLSX/CSV: parse, validate every row, preview, confirm all-or-nothing."""
