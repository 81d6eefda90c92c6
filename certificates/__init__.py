"""Certificates (证书): serials, canonical signed payloads, verification and PDF layout rules.

``certificates.domain`` holds the pure, framework-free rules (no Flask, no database); models, services,
views and PDF rendering are built on top of it.
"""
