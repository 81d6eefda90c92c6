"""People: workers, employments, transfers between employers, trades, consents, masking, and the bulk import."""


def register(app, api) -> None:
    from app.extensions import csrf
    from app.people.api import blp
    from app.people.imports.api import blp as import_blp
    from app.people.imports.views import bp as import_bp
    from app.people.transfers.api import blp as transfer_blp
    from app.people.transfers.views import bp as transfer_bp
    from app.people.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(import_bp)
    app.register_blueprint(transfer_bp)
    for b in (blp, import_blp, transfer_blp):
        csrf.exempt(b)
        api.register_blueprint(b)
