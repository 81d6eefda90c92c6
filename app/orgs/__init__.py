"""Organizations: enterprises (with 统一社会信用代码) and industry chains."""


def register(app, api) -> None:
    from app.extensions import csrf
    from app.orgs.api import blp
    from app.orgs.views import bp

    app.register_blueprint(bp)
    csrf.exempt(blp)
    api.register_blueprint(blp)
