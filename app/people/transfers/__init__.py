"""Transfers between employers (转入): a person changes enterprise and keeps their one record."""
