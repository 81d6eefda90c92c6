import click
from flask import Blueprint

from app.auth import public

bp = Blueprint("sample", __name__)


@bp.route("/sample")
@public
def index():
    return "sample domain"


@click.command("sample-hello")
def hello() -> None:
    click.echo("hello from the sample domain")
