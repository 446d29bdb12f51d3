"""The shared JSON loader and the secret registry, on their own."""

from __future__ import annotations

import pytest

from bot.catalog import Catalog
from bot.http.jsonbody import BodyError, load_json
from bot.observability.secrets import SecretRegistry, catalog_env_names, redact_query
from tests.boundaries.conftest import ALL_ENV


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (b"", "body", "empty"),
        (b"\xff{}", "body", "not UTF-8"),
        (b'{"a":', "body", "not valid JSON"),
        (b'{"a": 1, "a": 2}', "body", "duplicate key 'a'"),
        (b'{"a": [1, ' + b"9" * 5000 + b"]}", "a[1]", "out of range"),
        (b'{"a": {"b": 1e999}}', "a.b", "out of range"),
        (b'{"a": NaN}', "body", "NaN"),
        (b'{"a": 9223372036854775808}', "a", "out of range"),
        (b"[" * 100 + b"]" * 100, "[0]", "nested more than 64"),
        (b'{"t": "\\u0000"}', "t", "NUL"),
        (b'{"t": "\\ud800"}', "t", "surrogate"),
    ],
)
def test_bad_bodies_are_refused_with_the_field_and_reason(body: bytes, field: str, problem: str) -> None:
    with pytest.raises(BodyError) as caught:
        load_json(body)
    assert caught.value.field.startswith(field)
    assert problem in caught.value.problem


def test_good_bodies_load_unchanged() -> None:
    body = b'{"a": [1, 2.5, "\\u00e9", "\\ud83d\\ude00", null, true], "b": 9223372036854775807, "c": {}}'
    assert load_json(body) == {"a": [1, 2.5, "é", "😀", None, True], "b": 2**63 - 1, "c": {}}


def test_every_env_variable_the_catalog_names_is_found(full_catalog: Catalog) -> None:
    assert set(catalog_env_names(full_catalog)) == set(ALL_ENV)


def test_registry_redacts_values_longest_first_and_query_parameters_by_name() -> None:
    registry = SecretRegistry(["abcdef", "abcdef-longer", None, "short"])
    assert list(registry) == ["abcdef-longer", "abcdef"]
    assert registry.scrub("x abcdef-longer y abcdef") == "x [redacted] y [redacted]"
    assert redact_query("/w?token=t1&x=1&api_key=k&routing_key=r") == (
        "/w?token=[Filtered]&x=1&api_key=[Filtered]&routing_key=[Filtered]"
    )
