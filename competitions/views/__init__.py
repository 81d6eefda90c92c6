"""HTML pages of competitions, one module per area; each module defines ``bp`` (auto-registered)."""
