"""Tests for the requirement catalogue (features/requirements.yaml) and its loader."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from harness.catalogue import (
    DEFAULT_CATALOGUE,
    REQ_TAG_PREFIX,
    SEEDS_DIR,
    Catalogue,
    CatalogueError,
    Requirement,
    collapse_whitespace,
    load_catalogue,
    requirement_ids_from_tags,
)

SEED_NAME = "000_test.txt"
SEED_TEXT = (
    "Intro line.\n"
    "  • Calendar/Read: If the administrator selects this option:\n"
    "    Calendars.Read\n"
    "The prompt will only appear on 5.2.2 or higher.\n"
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# ---------------------------------------------------------------- the real catalogue


def test_real_catalogue_loads(catalogue: Catalogue) -> None:
    assert catalogue.version == 1
    assert 60 <= len(catalogue.requirements) <= 130
    assert {s.file for s in catalogue.sources} == {p.name for p in SEEDS_DIR.glob("*.txt")}


def test_ids_unique_and_well_formed(catalogue: Catalogue) -> None:
    ids = catalogue.ids()
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Z]+(-[A-Z]+)*-[0-9]{2}", i) for i in ids)
    assert list(catalogue.by_id) == ids


def test_every_untestable_requirement_says_why(catalogue: Catalogue) -> None:
    untestable = [r for r in catalogue.requirements if not r.testable]
    assert untestable, "mobile/portal UI requirements should be marked untestable"
    for req in untestable:
        assert req.why_not and len(req.why_not.split()) >= 4, req.id
    assert all(r.why_not is None for r in catalogue.requirements if r.testable)


def test_every_seed_file_is_cited(catalogue: Catalogue) -> None:
    cited = {occ.source for req in catalogue.requirements for occ in req.occurrences()}
    assert cited == {s.file for s in catalogue.sources}


def test_requirements_grouped_by_area(catalogue: Catalogue) -> None:
    areas = [r.area for r in catalogue.requirements]
    blocks = [a for i, a in enumerate(areas) if i == 0 or areas[i - 1] != a]
    assert len(blocks) == len(set(blocks)), f"areas not contiguous: {blocks}"


@pytest.mark.parametrize(
    ("req_id", "written", "real"),
    [
        ("SCOPE-01", "Calendars.Read", "Calendars.Read"),
        ("SCOPE-02", "Calendars.ReadWrite", "Calendars.ReadWrite"),
        ("SCOPE-03", "Contact.Read", "Contacts.Read"),
        ("SCOPE-04", "Contact.ReadWrite", "Contacts.ReadWrite"),
    ],
)
def test_scope_mapping_requirements(
    catalogue: Catalogue, req_id: str, written: str, real: str
) -> None:
    req = catalogue.get(req_id)
    assert req.area == "scopes"
    assert req.testable
    assert written in req.sentence
    if written != real:
        assert req.notes is not None
        assert written in req.notes and real in req.notes


def test_calendar_readwrite_misspelling_noted(catalogue: Catalogue) -> None:
    matches = [r for r in catalogue.requirements if "Calendar.ReadWrite" in r.sentence]
    assert [r.source for r in matches] == ["002_495fbd3c5c8010a3.txt"]
    assert matches[0].notes is not None and "Calendars.ReadWrite" in matches[0].notes


def test_key_rules_are_catalogued(catalogue: Catalogue) -> None:
    def cites(fragment: str) -> bool:
        return any(
            fragment in occ.sentence for r in catalogue.requirements for occ in r.occurrences()
        )

    for fragment in (
        "5.2.2 or higher",
        "By default, users have this option enabled",
        "hybrid Office 365 environment is not supported",
        "MAPI (Windows only)",
        "a comma should be used between each one",
        "OAuth 2.0 protocol",
        "create contacts based on your call history",
        "30 days of sanitized user calendaring data",
        "30 minutes to propagate",
        "Cumulative Update 3",
        "revoke all permissions except Calendar.ReadWrite",
        "Schedule For drop-down menu",
        "only available for Office 365",
        "fully on-premises solution is not supported",
    ):
        assert cites(fragment), fragment


def test_get_unknown_id_raises_helpful_keyerror(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError, match=r"SCOPE-1.*did you mean SCOPE-01"):
        catalogue.get("SCOPE-1")


def test_by_id_computed_once(catalogue: Catalogue) -> None:
    assert catalogue.by_id is catalogue.by_id
    assert catalogue.get("SCOPE-01") is catalogue.by_id["SCOPE-01"]


def test_models_are_frozen(catalogue: Catalogue) -> None:
    req = catalogue.get("SCOPE-01")
    with pytest.raises(ValueError):
        req.title = "changed"  # type: ignore[misc]


# ---------------------------------------------------------------- validation errors


def _good_requirement(**overrides: object) -> dict[str, object]:
    req: dict[str, object] = {
        "id": "SCOPE-01",
        "area": "scopes",
        "title": "Calendar/Read maps to Calendars.Read",
        "source": SEED_NAME,
        # Spans a line break and indentation in the seed: must match after collapsing.
        "sentence": "Calendar/Read: If the administrator selects this option: Calendars.Read",
        "testable": True,
    }
    req.update(overrides)
    return req


def _write(tmp_path: Path, body: str | dict[str, object]) -> tuple[Path, Path]:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / SEED_NAME).write_text(SEED_TEXT, encoding="utf-8")
    path = tmp_path / "requirements.yaml"
    if isinstance(body, str):
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path, seeds


def _catalogue(*requirements: dict[str, object], **top: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "version": 1,
        "sources": [{"file": SEED_NAME, "title": "Test seed"}],
        "requirements": list(requirements) or [_good_requirement()],
    }
    doc.update(top)
    return doc


def _error(tmp_path: Path, body: str | dict[str, object]) -> str:
    path, seeds = _write(tmp_path, body)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path, seeds)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": "), message
    return message


def test_small_good_catalogue_loads(tmp_path: Path) -> None:
    second = _good_requirement(
        id="LOCK-04",
        area="lock",
        title="Prompt on new clients only",
        sentence="The prompt will only appear on 5.2.2 or higher.",
        testable=False,
        why_not="example reason for the test",
        also_in=[{"source": SEED_NAME, "sentence": "Intro line."}],
    )
    path, seeds = _write(tmp_path, _catalogue(_good_requirement(), second))
    cat = load_catalogue(path, seeds)
    assert cat.ids() == ["SCOPE-01", "LOCK-04"]
    assert isinstance(cat.get("LOCK-04"), Requirement)
    assert cat.get("LOCK-04").also_in[0].sentence == "Intro line."


def test_bad_yaml_reports_line(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        """\
        version: 1
        sources:
          - file: 000_test.txt
            title: "unterminated
        requirements: []
        """,
    )
    assert "invalid YAML at line" in message
    assert re.search(r"line [0-9]+", message)


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    assert "top level must be a mapping" in _error(tmp_path, "- just\n- a list\n")


def test_unknown_field_names_entry(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(colour="blue")))
    assert "requirement SCOPE-01" in message
    assert "colour" in message and "unknown field" in message


def test_unknown_field_in_later_entry_names_that_entry(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        _catalogue(_good_requirement(), _good_requirement(id="LOCK-01", priority=1)),
    )
    assert "requirement LOCK-01" in message and "priority" in message


def test_missing_field_without_id_names_index(tmp_path: Path) -> None:
    req = _good_requirement()
    del req["id"]
    message = _error(tmp_path, _catalogue(_good_requirement(id="LOCK-01"), req))
    assert "requirement #1" in message and "missing required field" in message


@pytest.mark.parametrize("bad_id", ["scope-01", "SCOPE-1", "SCOPE-001", "SCOPE01", "-01"])
def test_bad_id_pattern(tmp_path: Path, bad_id: str) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(id=bad_id)))
    assert f"requirement {bad_id}" in message
    assert "does not match" in message


def test_non_boolean_testable_rejected(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(testable="no")))
    assert "requirement SCOPE-01" in message and "testable" in message


def test_duplicate_id(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(), _good_requirement()))
    assert "requirement SCOPE-01" in message and "duplicate id" in message


def test_unknown_source(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(source="999_missing.txt")))
    assert "requirement SCOPE-01" in message
    assert "999_missing.txt" in message and "not listed under sources" in message


def test_unknown_source_in_also_in(tmp_path: Path) -> None:
    req = _good_requirement(also_in=[{"source": "999_missing.txt", "sentence": "Intro line."}])
    message = _error(tmp_path, _catalogue(req))
    assert "requirement SCOPE-01" in message and "also_in[0]" in message


def test_listed_source_missing_from_seeds_dir(tmp_path: Path) -> None:
    doc = _catalogue(
        sources=[
            {"file": SEED_NAME, "title": "Test seed"},
            {"file": "001_absent.txt", "title": "Absent"},
        ]
    )
    message = _error(tmp_path, doc)
    assert "001_absent.txt" in message and "not found" in message


def test_sentence_not_verbatim(tmp_path: Path) -> None:
    # One changed character ("Calendar.Read" for "Calendars.Read") must be caught.
    req = _good_requirement(
        sentence="Calendar/Read: If the administrator selects this option: Calendar.Read"
    )
    message = _error(tmp_path, _catalogue(req))
    assert "requirement SCOPE-01" in message
    assert f"sentence not found verbatim in {SEED_NAME}" in message


def test_also_in_sentence_not_verbatim(tmp_path: Path) -> None:
    req = _good_requirement(also_in=[{"source": SEED_NAME, "sentence": "Outro line."}])
    message = _error(tmp_path, _catalogue(req))
    assert "requirement SCOPE-01" in message
    assert "also_in[0]" in message and "not found verbatim" in message


def test_blank_sentence_rejected(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(sentence="   ")))
    assert "requirement SCOPE-01" in message and "sentence" in message


def test_testable_false_without_why_not(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(testable=False)))
    assert "requirement SCOPE-01" in message
    assert "why_not is required when testable is false" in message


def test_why_not_with_testable_true(tmp_path: Path) -> None:
    message = _error(tmp_path, _catalogue(_good_requirement(why_not="because")))
    assert "requirement SCOPE-01" in message
    assert "why_not is only allowed when testable is false" in message


def test_missing_catalogue_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "nope.yaml", tmp_path)


def test_default_paths_point_into_project() -> None:
    assert DEFAULT_CATALOGUE.name == "requirements.yaml"
    assert DEFAULT_CATALOGUE.parent.name == "features"
    assert SEEDS_DIR.parts[-2:] == ("docs", "seeds")


def test_collapse_whitespace() -> None:
    assert collapse_whitespace("  a\n   b\u00a0 c\t") == "a b c"


# ---------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([], []),
        (["req:SCOPE-01"], ["SCOPE-01"]),
        (["@req:SCOPE-01"], ["SCOPE-01"]),
        (["@req:LOCK-02", "smoke", "@slow", "req:SCOPE-01"], ["LOCK-02", "SCOPE-01"]),
        (["req:SCOPE-01", "@req:SCOPE-01", "req:LOCK-02", "req:SCOPE-01"], ["SCOPE-01", "LOCK-02"]),
        (["request:SCOPE-01", "REQ:SCOPE-01", "req:", "@"], []),
        ((t for t in ["@req:SYNC-04"]), ["SYNC-04"]),
    ],
)
def test_requirement_ids_from_tags(tags: list[str], expected: list[str]) -> None:
    assert requirement_ids_from_tags(tags) == expected


def test_tag_prefix() -> None:
    assert REQ_TAG_PREFIX == "req:"
