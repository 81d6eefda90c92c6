"""JSON API of certificates under /api/v1, one module per area; each module defines ``blp`` (auto-registered)."""
