"""A domain package as a new one (mentors/, studios/, talent/) is made: declared here, found through an entry point."""

from app.domains import Area, Domain

DOMAIN = Domain(
    name="sample", package="tests.app.sample_domain", position=300,
    blueprints=("tests.app.sample_domain.views:bp",), api=(),
    areas=(Area("sample.index", "Sample", "A sample area", None, position=1100),),
    commands=("tests.app.sample_domain.views:hello",),
    requires=("accounts",),
)
