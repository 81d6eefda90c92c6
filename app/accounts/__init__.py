"""Accounts: users, scoped roles, login and personal API tokens."""


def register(app, api) -> None:
    from app.accounts.api import blp
    from app.accounts.views import bp
    from app.extensions import csrf

    app.register_blueprint(bp)
    csrf.exempt(blp)
    api.register_blueprint(blp)
