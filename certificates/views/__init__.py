"""HTML pages of certificates, one module per area; each module defines ``bp`` (auto-registered)."""
