"""Audit: the append-only, hash-chained log of logins, role changes, worker changes and imports."""


def register(app, api) -> None:
    from app.audit.views import bp

    app.register_blueprint(bp)
