"""Certificates (证书): templates, issuance, signed payloads, PDF rendering, verification and batches.

``certificates.domain`` holds the pure, framework-free rules (no Flask, no database); models, services
(``certificates/services/<area>.py``), HTML views (``certificates/views/<area>.py``) and the JSON API
(``certificates/api/<area>.py``) are built on top of it.
"""


from flask_babel import lazy_gettext as _l

from app.accounts.models import MANAGERS, Role
from app.domains import Area, Domain

DOMAIN = Domain(
    name="certificates", package="certificates", position=200,
    models=("certificates.models",),
    areas=(
        Area("certificates_issue.index", _l("Certificates"),
             _l("Issue certificates one by one or from a file, and revoke them"), (*MANAGERS, Role.HR), position=600),
        Area("certificates_my.index", _l("My certificates"),
             _l("Download your certificates; anyone can check them by their verification link"), (Role.WORKER,),
             position=710),
    ),
    demo="certificates.demo:load_certificates",
    commands=("certificates.cli:certs",),
    requires=("competitions",),
)
