"""JSON API: the current user and personal API tokens."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts import services
from app.api import Blueprint
from app.auth import login_required, public
from app.errors import DomainError, keep_refusal
from app.extensions import configured_limit, limiter
from app.fields import Int, Text

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Current user and API tokens")


class RoleSchema(ma.Schema):
    role = ma.fields.String()
    enterprise_id = ma.fields.Integer(allow_none=True)


class MeSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    roles = ma.fields.List(ma.fields.Nested(RoleSchema))
    worker_id = ma.fields.Integer(allow_none=True)


class TokenSchema(ma.Schema):
    id = Int(dump_only=True)
    name = Text(required=True, validate=ma.validate.Length(min=1, max=64))
    prefix = Text(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    last_used_at = ma.fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "When the token was last used, to within an hour (noted at most once an hour); null: never."})
    revoked_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(dump_only=True, metadata={"description": "Shown once; store it safely."})


class TokenRequestSchema(TokenSchema):
    username = Text(load_only=True, validate=ma.validate.Length(min=1, max=64), metadata={
        "description": "Without a session or token: the account whose token this is (with its password)"})
    password = Text(load_only=True, validate=ma.validate.Length(min=1, max=1024))


@blp.route("/me")
class Me(MethodView):
    @login_required
    @blp.response(200, MeSchema)
    def get(self):
        return current_user


@blp.route("/tokens")
class Tokens(MethodView):
    @login_required
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        return services.list_tokens(current_user)

    decorators = [limiter.limit(configured_limit("LOGIN_RATE_LIMIT"), methods=["POST"])]  # password guesses, as on the login page

    @public
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, NewTokenSchema)
    @blp.doc(security=[{"bearerAuth": []}, {"cookieAuth": []}, {}])
    def post(self, data):
        """Create a personal API token (its secret is shown once)

        Logged in (a session or a token): a token for the current user; give only its name. A script without either
        gives ``username`` and ``password`` too: a wrong one answers 401, counts against the account as a failed
        login does (audited; after several, 429 until the wait is over) and is limited per address."""
        user = current_user if current_user.is_authenticated else None
        if user is None:
            if not data.get("username") or not data.get("password"):
                raise DomainError(_l("Please log in, or give the account's username and password."),
                                  code="unauthorized", status=401)
            user = services.authenticate(data["username"], data["password"])
            if user is None:
                keep_refusal()  # the failed attempt stays counted and audited
                raise DomainError(_l("Wrong username or password."), code="wrong_password", status=401)
        elif "username" in data or "password" in data:
            raise DomainError(_l("You are logged in: give only the token's name."), code="validation_error",
                              status=422)
        new = services.create_token(user, data["name"])
        # The response schema serializes; hand it the raw values (dumping twice breaks datetimes).
        out = {name: getattr(new.token, name) for name in TokenSchema().fields}
        out["token"] = new.secret
        return out


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, token_id: int):
        services.revoke_token(current_user, token_id)
