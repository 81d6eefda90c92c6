"""Security headers on every response (strict CSP: no inline script, no outside hosts)."""

from __future__ import annotations

from flask import Flask, Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# What every response carries (HTML pages may set their own CSP / COOP first).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
PAGE_MAY_SET = frozenset({"Content-Security-Policy", "Cross-Origin-Opener-Policy"})


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(resp: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            if name in PAGE_MAY_SET:
                resp.headers.setdefault(name, value)
            else:
                resp.headers[name] = value
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
