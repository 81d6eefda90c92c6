"""The OpenAPI document declares what the API returns (schemathesis checks every answer against it:
``test_api_fuzz.py``)."""

from __future__ import annotations


def test_decimals_are_declared_as_the_strings_the_api_returns(client):
    spec = client.get("/api/v1/openapi.json").json
    aspect = spec["components"]["schemas"]["SetupAspectDoc"]["properties"]
    for name in ("max_mark", "scale_min", "scale_max", "scale_step"):
        assert aspect[name]["type"] == "string" and aspect[name]["format"] == "decimal", name
    numbers = [f"{schema}.{prop}" for schema, body in spec["components"]["schemas"].items()
               for prop, value in body.get("properties", {}).items() if value.get("type") == "number"]
    assert numbers == []
