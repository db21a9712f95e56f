"""Bad audience files stop `dbt parse` with a message naming the file and the condition; an event nobody
has sent is only a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audiences.project_copy import add_audience, copy_project, run_dbt


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("bad_audiences") / "dbt_project")
    # One good parse first: each bad file is then a partial parse of that one file, as when an analyst
    # adds it to a working project (and ~10 s cheaper per case than a full parse).
    result = run_dbt(project, project.parent, "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    return project


def _parse_with(project: Path, files: dict[str, str], command: str = "parse") -> str:
    paths = [add_audience(project, name, text) for name, text in files.items()]
    try:
        result = run_dbt(project, project.parent, command)
    finally:
        for path in paths:
            path.unlink()
    assert result.returncode != 0, "dbt parse should have refused the audience"
    return result.stdout + result.stderr


def _audience(conditions: str, description: str = "'Test audience.'") -> str:
    return f"{{{{ cdp.audience(description={description}, conditions={conditions}) }}}}\n"


BAD = {
    "unknown_trait": (
        _audience(
            "{'all': [{'trait': 'has_started_trial', 'op': '=', 'value': true}, {'trait': 'lifetime_valu', 'op': '>', 'value': 1}]}"
        ),
        ["models/audiences/bad_one.sql", "conditions.all[1]", "unknown trait 'lifetime_valu'"],
    ),
    "unknown_operator": (
        _audience("{'trait': 'lifetime_value', 'op': '=>', 'value': 1}"),
        ["models/audiences/bad_one.sql", "conditions", "unknown operator '=>'"],
    ),
    "unknown_property_operator": (
        _audience(
            "{'performed': 'Order Completed', 'where': [{'property': 'revenue', 'op': 'around', 'value': 3}]}"
        ),
        ["models/audiences/bad_one.sql", "unknown operator 'around' on property 'revenue'"],
    ),
    "zero_window": (
        _audience("{'any': [{'performed': 'Order Completed', 'window_days': 0}]}"),
        ["models/audiences/bad_one.sql", "conditions.any[0]", "window_days must be a positive whole number"],
    ),
    "negative_funnel_window": (
        _audience(
            "{'funnel': ['Checkout Started', 'Order Completed'], 'within_hours': -2, 'completed': false}"
        ),
        ["models/audiences/bad_one.sql", "the funnel window must be a positive whole number"],
    ),
    "unknown_kind": (
        _audience("{'all': [{'purchased': 'shoes'}]}"),
        ["models/audiences/bad_one.sql", "conditions.all[0]", "unknown kind of condition"],
    ),
    "missing_description": (
        "{{ cdp.audience(conditions={'trait': 'lifetime_value', 'op': '>', 'value': 1}) }}\n",
        ["models/audiences/bad_one.sql", "missing the key 'description'"],
    ),
    "unknown_account_trait": (
        _audience("{'account': {'trait': 'revenue', 'op': '>', 'value': 1}}"),
        ["models/audiences/bad_one.sql", "unknown account trait 'revenue'"],
    ),
    "self_membership": (
        _audience("{'not_in_audience': 'bad_one'}"),
        ["models/audiences/bad_one.sql", "cycle bad_one -> bad_one"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_audience_fails_parse_naming_file_and_condition(project: Path, case: str) -> None:
    text, expected = BAD[case]
    output = _parse_with(project, {"bad_one": text})
    for fragment in expected:
        assert fragment in output, (case, output[-3000:])


def test_unknown_audience_name_fails_parse_naming_the_file(project: Path) -> None:
    output = _parse_with(project, {"bad_one": _audience("{'in_audience': 'no_such_audience'}")})
    assert "bad_one" in output and "no_such_audience" in output, output[-3000:]


def test_a_membership_cycle_through_files_fails_parse_naming_files_and_conditions(project: Path) -> None:
    output = _parse_with(
        project,
        {
            "cycle_a": _audience(
                "{'all': [{'trait': 'lifetime_value', 'op': '>', 'value': 1}, {'in_audience': 'cycle_b'}]}"
            ),
            "cycle_b": _audience("{'any': [{'in_audience': 'cycle_c'}]}"),
            "cycle_c": _audience("{'not_in_audience': 'cycle_a'}"),
        },
    )
    assert "membership cycle" in output, output[-3000:]
    for fragment in (
        "models/audiences/cycle_a.sql (condition conditions.all[1]: cycle_a -> cycle_b)",
        "models/audiences/cycle_b.sql (condition conditions.any[0]: cycle_b -> cycle_c)",
        "models/audiences/cycle_c.sql (condition conditions: cycle_c -> cycle_a)",
    ):
        assert fragment in output, output[-3000:]


def test_two_files_with_one_audience_name_fail_parse_naming_both(project: Path) -> None:
    other = project / "models" / "audiences" / "more"
    other.mkdir()
    (other / "trial_support_inactive.sql").write_text(
        _audience("{'trait': 'lifetime_value', 'op': '>', 'value': 1}")
    )
    try:
        result = run_dbt(project, project.parent, "parse")
    finally:
        (other / "trial_support_inactive.sql").unlink()
        other.rmdir()
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "models/audiences/trial_support_inactive.sql" in output, output[-3000:]
    assert "models/audiences/more/trial_support_inactive.sql" in output, output[-3000:]
