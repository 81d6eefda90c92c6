"""``flask --app wsgi certs …``: verify a certificate, export its PDF, rotate the signing key.

* ``certs verify SERIAL`` prints each verification step and exits 1 when the certificate is not valid
  (2 for a usage error), so scripts can rely on the exit code.
* ``certs export SERIAL -o FILE.pdf`` writes the certificate's PDF (rendered or from the PDF store).
* ``certs rotate-key`` closes the active Ed25519 key (valid until today) and starts a new one; old
  certificates keep verifying with the old key, which stays published.
* ``certs keys`` lists the keys (id, validity) without any private material.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

certs = AppGroup("certs", help="Certificates: verify, export, signing keys.")

MARKS = {True: "OK  ", False: "FAIL", None: "--  "}


@certs.command("verify")
@click.argument("serial")
def verify(serial: str) -> None:
    """Print the verification steps of SERIAL; exit 1 when it is not valid."""
    from dataclasses import replace

    from certificates.services.verification import verify_serial

    v = replace(verify_serial(serial), revealed=True)  # the server's operator: holder and achievement shown
    body = v.public_dict()
    click.echo(f"certificate {v.serial}")
    for step in body["steps"]:
        line = f"  [{MARKS[step['ok']]}] {step['label']}"
        if step["message"]:
            line += f": {step['message']}"
        click.echo(line)
    cert = body["certificate"]
    if cert:
        click.echo(f"  {cert['kind_label']} · {cert['holder_name_masked']} · {cert['achievement']} · "
                   f"{cert['issuer_name']} · {cert['issued_at']}")
    if body["superseded_by"]:
        click.echo(f"  superseded by {body['superseded_by']}")
    if v.valid:
        click.echo("VALID")
        return
    click.echo(f"NOT VALID: {body['reason']}", err=True)
    sys.exit(1)


@certs.command("export")
@click.argument("serial")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF file to write.")
def export(serial: str, output: Path) -> None:
    """Write the PDF of SERIAL to a file."""
    from app.db import db
    from certificates.domain import normalize_serial
    from certificates.services.issuance import certificate_by_serial

    certificate = certificate_by_serial(normalize_serial(serial))
    if certificate is None:
        click.echo(f"no certificate with serial {serial}", err=True)
        sys.exit(1)
    try:
        from certificates.services.render import pdf_for
    except ImportError:
        click.echo("PDF rendering is not available in this build", err=True)
        sys.exit(1)
    pdf = pdf_for(certificate)
    db.session.commit()  # pdf_for may record the PDF's hash (pdf_match step)
    output.write_bytes(pdf.data)
    click.echo(f"wrote {output} ({len(pdf.data)} bytes, sha256 {pdf.sha256})")


@certs.command("rotate-key")
def rotate_key() -> None:
    """Start a new signing key; the old one stays valid for what it signed."""
    from certificates.services.keys import keys_path
    from certificates.services.keys import rotate_key as rotate

    old, new = rotate()
    click.echo(f"old key {old.key_id}: valid {old.valid_from.isoformat()} to {old.valid_until.isoformat()}")
    click.echo(f"new key {new.key_id}: valid from {new.valid_from.isoformat()} (signs new certificates)")
    click.echo(f"key ring: {keys_path()}")


@certs.command("keys")
def list_keys() -> None:
    """List the signing keys (public information only)."""
    from certificates.services.keys import key_records

    for r in key_records():
        until = r.valid_until.isoformat() if r.valid_until else "open (active)"
        click.echo(f"{r.key_id}  {r.valid_from.isoformat()} … {until}")
