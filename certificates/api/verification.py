"""Public JSON verification: ``GET /api/v1/certificates/<serial>/verification`` (the same steps as ``/v/<serial>``).

Always 200 with ``valid`` true/false and the steps (a malformed or unknown serial is a verification
result, not an HTTP error), so a client handles one shape. Never more than masked data.
"""

from __future__ import annotations

from flask.views import MethodView

from app.api import Blueprint
from app.auth import public
from app.extensions import configured_limit, limiter
from certificates.schemas import VerificationQuerySchema, VerificationSchema
from certificates.services import verification

blp = Blueprint("certificates_api_verification", __name__, url_prefix="/api/v1",
                description="Certificate verification (public)")


@blp.route("/certificates/<serial>/verification", endpoint="verification")
class Verification(MethodView):
    decorators = [limiter.limit(configured_limit("VERIFY_PAGE_RATE_LIMIT"))]  # serials are sequential

    @public
    @blp.arguments(VerificationQuerySchema, location="query")
    @blp.response(200, VerificationSchema)
    @blp.doc(security=[])
    def get(self, args, serial: str):
        """Verify a certificate by serial, step by step (public; masked data only)

        Steps: serial_format → record_exists → signature → key_valid → not_revoked → within_validity
        (→ pdf_match when pdf_sha256 is given). The public keys are at /.well-known/jiangxin-keys.json.
        """
        return verification.verify_serial(serial, code=args.get("c"), pdf_sha256=args.get("pdf_sha256")).public_dict()
