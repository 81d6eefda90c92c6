"""JSON blueprints of competitions, one module per area; each defines ``blp`` (auto-registered)."""
