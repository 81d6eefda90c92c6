"""Security headers on every response (strict CSP: no inline script, no outside hosts), and HSTS on every response
served over TLS (``request.is_secure``: TLS in gunicorn, or a trusted proxy's ``X-Forwarded-Proto: https``) for
``HSTS_MAX_AGE`` seconds (0: none)."""

from __future__ import annotations

from flask import Flask, Response, request

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
# (name, its lower case, value, whether a page's own value stands): worked out once, not per response.
_PLAN = tuple((name, name.lower(), value, name in PAGE_MAY_SET) for name, value in SECURITY_HEADERS)


def init_security_headers(app: Flask) -> None:
    max_age = int(app.config.get("HSTS_MAX_AGE") or 0)
    hsts = f"max-age={max_age}" if max_age > 0 else None

    @app.after_request
    def _headers(resp: Response) -> Response:
        # Every response runs this (the live board's polls too): one pass over the headers it has, then one append
        # per header it lacks, instead of a lookup and a replacement per header.
        headers = resp.headers
        present = {name.lower() for name, _value in headers.items()}
        for name, lower, value, page_may_set in _PLAN:
            if lower not in present:
                headers.add(name, value)
            elif not page_may_set:
                headers.set(name, value)
        if "cache-control" not in present and resp.mimetype == "text/html":
            headers["Cache-Control"] = "no-store"
        if hsts and request.is_secure:
            headers["Strict-Transport-Security"] = hsts
        return resp
