"""Use cases of certificates, one module per area: load, check permission, call the domain, write (flush)."""
