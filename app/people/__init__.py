"""People: workers, trades, consents, masking, and the bulk import of workers."""


def register(app, api) -> None:
    from app.extensions import csrf
    from app.people.api import blp
    from app.people.imports.api import blp as import_blp
    from app.people.imports.views import bp as import_bp
    from app.people.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(import_bp)
    for b in (blp, import_blp):
        csrf.exempt(b)
        api.register_blueprint(b)
