"""Marshmallow schemas of the certificates API (issuing, revoking, superseding, verification).

Output never carries an ID number or the ID hash except inside ``payload`` for users who manage the
certificate (it is what was signed); public verification output is ``VerificationSchema`` — masked name,
achievement, issuer, dates and status. Input schemas only check types; the service checks every rule and
answers 422 with translated messages per field.
"""

from __future__ import annotations

import marshmallow as ma

from app.api import PageQuerySchema
from app.fields import Int, Text
from app.people.domain import mask_name
from certificates.domain import CertificateKind, CertificateStatus

KINDS = [k.value for k in CertificateKind]
STATUSES = [s.value for s in CertificateStatus]


class PageSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class CertificateQuerySchema(PageQuerySchema):
    kind = Text(validate=ma.validate.OneOf(KINDS))
    status = Text(validate=ma.validate.OneOf(STATUSES))
    competition_id = Int()
    worker_id = Int()
    q = Text(load_default="", validate=ma.validate.Length(max=100),
                         metadata={"description": "Part of the holder's name or achievement, or the start of a serial"})


class IssuerSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "ORG4: the issuer's four digits in the serial"})
    name = ma.fields.String()
    enterprise_id = ma.fields.Integer(allow_none=True)


class CertificateListItemSchema(ma.Schema):
    id = ma.fields.Integer()
    serial = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "|".join(KINDS)})
    status = ma.fields.String(metadata={"description": "|".join(STATUSES)})
    holder_name_masked = ma.fields.Function(lambda c: mask_name(c.holder_name))
    worker_id = ma.fields.Integer(allow_none=True)
    enterprise_id = ma.fields.Integer(allow_none=True)
    competition_id = ma.fields.Integer(allow_none=True)
    achievement = ma.fields.String()
    issuer = ma.fields.Nested(IssuerSchema)
    issued_on = ma.fields.Date()
    valid_until = ma.fields.Date(allow_none=True)
    supersedes_id = ma.fields.Integer(allow_none=True)
    verification_url = ma.fields.Method("_verification_url")

    def _verification_url(self, c) -> str:
        from certificates.services.render import verification_url

        return verification_url(c.serial, c.verify_code)


class CertificateSchema(CertificateListItemSchema):
    holder_key = ma.fields.String()
    holder_name = ma.fields.String()
    subject_key = ma.fields.String()
    details = ma.fields.Dict()
    payload = ma.fields.Dict(metadata={"description": "The signed document (certificates.domain, section 3)"})
    signature = ma.fields.String(metadata={"description": "Ed25519 over the canonical JSON of payload, base64url"})
    key_id = ma.fields.String()
    revoked_at = ma.fields.DateTime(allow_none=True)
    revoked_reason = ma.fields.String(allow_none=True)
    batch_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class CertificatePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CertificateListItemSchema))


class IssueSchema(ma.Schema):
    kind = Text(required=True, validate=ma.validate.OneOf(KINDS))
    worker_id = Int(allow_none=True, metadata={"description": "A worker of your scope (or holder_key)"})
    holder_key = Text(allow_none=True, validate=ma.validate.Length(max=64),
                                  metadata={"description": "Another holder, e.g. studio:7 (with holder_name)"})
    holder_name = Text(allow_none=True, validate=ma.validate.Length(max=100))
    id_number = Text(allow_none=True, validate=ma.validate.Length(max=32), load_only=True,
                                 metadata={"description": "Non-worker holders only; only its hash is signed, nothing stored"})
    enterprise_id = Int(allow_none=True, metadata={"description": "Non-worker holders: their enterprise"})
    subject_key = Text(allow_none=True, validate=ma.validate.Length(max=120),
                                   metadata={"description": "What is certified, e.g. skill:6-31-01-03:3; "
                                                            "default derived from kind, achievement and details"})
    achievement = Text(required=True, validate=ma.validate.Length(max=300))
    details = ma.fields.Dict(keys=Text(), values=ma.fields.Raw(allow_none=True), load_default=dict)
    template_id = Int(allow_none=True)
    issuer_id = Int(allow_none=True)
    competition_id = Int(allow_none=True)
    issued_on = ma.fields.Date(allow_none=True, metadata={"description": "Default today (Asia/Shanghai)"})


class IssueResultSchema(ma.Schema):
    created = ma.fields.Boolean(metadata={"description": "False: the live certificate for the same holder, "
                                                         "subject and kind already existed and is returned"})
    certificate = ma.fields.Nested(CertificateSchema)


class RevokeSchema(ma.Schema):
    reason = Text(multiline=True, required=True, validate=ma.validate.Length(max=500))


class SupersedeSchema(ma.Schema):
    reason = Text(multiline=True, required=True, validate=ma.validate.Length(max=500))
    holder_name = Text(validate=ma.validate.Length(max=100))
    achievement = Text(validate=ma.validate.Length(max=300))
    details = ma.fields.Dict(keys=Text(), values=ma.fields.Raw(allow_none=True))
    template_id = Int(allow_none=True)
    issued_on = ma.fields.Date(allow_none=True)
    id_number = Text(validate=ma.validate.Length(max=32), load_only=True)


class OpenBadgeSchema(ma.Schema):
    jwt = ma.fields.String(metadata={"description": "The OpenBadgeCredential as a VC-JWT (compact JWS, alg EdDSA)"})
    credential = ma.fields.Dict(metadata={"description": "The credential (the JWT's vc claim), for reading"})
    key_id = ma.fields.String(metadata={"description": "kid of the signing key in /.well-known/jiangxin-keys.json"})


# --- verification (public) -------------------------------------------------------------------------------


class StepSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "serial_format | record_exists | signature | key_valid | "
                                                     "not_revoked | within_validity | id_match | pdf_match"})
    ok = ma.fields.Boolean(allow_none=True, metadata={"description": "null: not run"})
    detail = ma.fields.String(allow_none=True, metadata={"description": "Reason code (see certificates.domain, section 5)"})
    label = ma.fields.String()
    explanation = ma.fields.String()
    message = ma.fields.String()


class PublicCertificateSchema(ma.Schema):
    kind = ma.fields.String()
    kind_label = ma.fields.String()
    holder_name_masked = ma.fields.String(allow_none=True, metadata={
        "description": "张帅坤 → 张*坤; never the full name or ID. Null without the verification code (c)"})
    achievement = ma.fields.String(allow_none=True, metadata={"description": "Null without the verification code (c)"})
    issuer_name = ma.fields.String()
    issuer_code = ma.fields.String()
    issued_at = ma.fields.String(metadata={"description": "YYYY-MM-DD"})
    valid_until = ma.fields.String(allow_none=True)
    status_label = ma.fields.String()
    revoked_at = ma.fields.String(allow_none=True, metadata={
        "description": "YYYY-MM-DD in Asia/Shanghai (the reason is for the holder and the issuer only)"})
    key_id = ma.fields.String()


class VerificationSchema(ma.Schema):
    serial = ma.fields.String(metadata={"description": "As normalized"})
    valid = ma.fields.Boolean()
    status = ma.fields.String(allow_none=True)
    failed_step = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True, metadata={"description": "Translated reason of the failed step"})
    steps = ma.fields.List(ma.fields.Nested(StepSchema))
    certificate = ma.fields.Nested(PublicCertificateSchema, allow_none=True,
                                   metadata={"description": "Only when the record exists and its signature holds"})
    superseded_by = ma.fields.String(allow_none=True, metadata={"description": "Serial of the correction"})
    details_shown = ma.fields.Boolean(metadata={
        "description": "Whether the holder (masked) and the achievement are shown: only with the certificate's "
                       "verification code (c, in its QR address); by serial alone only validity, kind, issuer and "
                       "dates"})


class VerificationQuerySchema(ma.Schema):
    # No ID number here: it would travel in URLs and logs (the page's POST form checks one).
    c = Text(validate=ma.validate.Length(max=40), metadata={
        "description": "The certificate's verification code (in its QR address): shows the holder (masked) and the "
                       "achievement"})
    pdf_sha256 = Text(validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$"),
                                  metadata={"description": "Optional: check a PDF file's SHA-256 (hex)"})
