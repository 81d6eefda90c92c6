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
# (name, its lower case, value, whether a page's own value stands): worked out once, not per response.
_PLAN = tuple((name, name.lower(), value, name in PAGE_MAY_SET) for name, value in SECURITY_HEADERS)


def init_security_headers(app: Flask) -> None:
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
        return resp
