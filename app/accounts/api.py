"""JSON API: the current user and personal API tokens."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user

from app.accounts import services
from app.api import Blueprint
from app.auth import login_required
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

    @login_required
    @blp.arguments(TokenSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        new = services.create_token(current_user, data["name"])
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
