"""Certificates (证书): templates, issuance, signed payloads, PDF rendering, verification and batches.

``certificates.domain`` holds the pure, framework-free rules (no Flask, no database); models, services
(``certificates/services/<area>.py``), HTML views (``certificates/views/<area>.py``) and the JSON API
(``certificates/api/<area>.py``) are built on top of it.
"""


def register(app, api) -> None:
    from app.blueprints import register_domain

    register_domain(app, api, "certificates")
