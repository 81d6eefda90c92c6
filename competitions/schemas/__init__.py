"""Marshmallow schemas of the competitions JSON API, one module per area."""
