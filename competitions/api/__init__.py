"""JSON blueprints of competitions, one per area (see competitions.services)."""

AREAS = ("setup", "registration", "judging", "marks", "results")
