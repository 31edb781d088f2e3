"""Requirement catalogue: typed models and a validating loader for ``features/requirements.yaml``.

The catalogue lists every requirement stated in the seed documents (``docs/seeds``; both ship
inside the wheel, see ``harness.bundled``).
Each requirement quotes the sentence it rests on; the loader checks that quote against
the seed file so the catalogue cannot drift from its sources.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from harness import bundled

DEFAULT_CATALOGUE = bundled.catalogue_file()
SEEDS_DIR = bundled.seeds_dir()

REQ_TAG_PREFIX = "req:"
# [0-9] rather than \d: \d would also accept non-ASCII digits.
REQUIREMENT_ID_PATTERN = re.compile(r"^[A-Z]+(-[A-Z]+)*-[0-9]{2}$")
AREA_PATTERN = re.compile(r"^[a-z]+(-[a-z]+)*$")

_WHITESPACE = re.compile(r"\s+")

# Non-empty text with at least one non-whitespace character (pattern is a search).
Text = Annotated[StrictStr, StringConstraints(min_length=1, pattern=r"\S")]


class CatalogueError(ValueError):
    """The catalogue is invalid; the message is a single line naming file and entry."""

    def __init__(self, message: str) -> None:
        # Keep it to one line even if a wrapped library message contains newlines.
        super().__init__(" ".join(message.split()))


class Source(BaseModel):
    """A seed document the catalogue draws on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Text
    title: Text


class Occurrence(BaseModel):
    """Another place where the same rule is stated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Text
    sentence: Text


class Requirement(BaseModel):
    """One requirement, anchored to a verbatim sentence of a seed document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StrictStr
    area: StrictStr
    title: Text
    source: Text
    sentence: Text
    testable: StrictBool
    why_not: Text | None = None
    notes: Text | None = None
    also_in: list[Occurrence] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not REQUIREMENT_ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"id {value!r} does not match {REQUIREMENT_ID_PATTERN.pattern} "
                "(area code(s), a dash, two digits, e.g. SCOPE-01)"
            )
        return value

    @field_validator("area")
    @classmethod
    def _check_area(cls, value: str) -> str:
        if not AREA_PATTERN.fullmatch(value):
            raise ValueError(f"area {value!r} must be lower-case words joined by dashes")
        return value

    @model_validator(mode="after")
    def _check_why_not(self) -> Requirement:
        if not self.testable and self.why_not is None:
            raise ValueError("why_not is required when testable is false")
        if self.testable and self.why_not is not None:
            raise ValueError("why_not is only allowed when testable is false")
        return self

    def occurrences(self) -> list[Occurrence]:
        """The main sentence followed by the ``also_in`` occurrences."""
        return [Occurrence(source=self.source, sentence=self.sentence), *self.also_in]


class Catalogue(BaseModel):
    """The whole requirement catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    sources: list[Source] = Field(min_length=1)
    requirements: list[Requirement] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self) -> Catalogue:
        files: set[str] = set()
        for source in self.sources:
            if source.file in files:
                raise ValueError(f"source {source.file}: listed more than once")
            files.add(source.file)
        seen: set[str] = set()
        for req in self.requirements:
            if req.id in seen:
                raise ValueError(f"requirement {req.id}: duplicate id")
            seen.add(req.id)
            for where, occ in _labelled_occurrences(req):
                if occ.source not in files:
                    raise ValueError(
                        f"requirement {req.id}: {where}source {occ.source!r} "
                        "is not listed under sources"
                    )
        return self

    @cached_property
    def by_id(self) -> dict[str, Requirement]:
        """Requirements keyed by id (computed once)."""
        return {req.id: req for req in self.requirements}

    def get(self, req_id: str) -> Requirement:
        """Return the requirement with this id, or raise a KeyError that suggests near ids."""
        try:
            return self.by_id[req_id]
        except KeyError:
            close = difflib.get_close_matches(req_id, self.by_id, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(
                f"unknown requirement id {req_id!r} "
                f"({len(self.by_id)} requirements in the catalogue){hint}"
            ) from None

    def ids(self) -> list[str]:
        """All requirement ids in catalogue order."""
        return [req.id for req in self.requirements]


def collapse_whitespace(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return _WHITESPACE.sub(" ", text).strip()


def load_catalogue(path: Path | None = None, seeds_dir: Path | None = None) -> Catalogue:
    """Load, validate and return the catalogue; raise CatalogueError on any problem."""
    path = DEFAULT_CATALOGUE if path is None else Path(path)
    seeds_dir = SEEDS_DIR if seeds_dir is None else Path(seeds_dir)
    shown = _display(path)

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"{shown}: cannot read catalogue: {exc.strerror or exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{shown}: {_describe_yaml_error(exc)}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(
            f"{shown}: top level must be a mapping with version, sources and requirements"
        )

    try:
        catalogue = Catalogue.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(f"{shown}: {_describe_validation_error(exc, raw)}") from exc

    _check_sentences(catalogue, seeds_dir, shown)
    return catalogue


def requirement_ids_from_tags(tags: Iterable[str]) -> list[str]:
    """Requirement ids from tags such as ``req:SCOPE-01`` or ``@req:SCOPE-01``.

    Order is preserved and duplicates are dropped; other tags are ignored.
    """
    ids: list[str] = []
    for tag in tags:
        name = tag.strip().removeprefix("@")
        if not name.startswith(REQ_TAG_PREFIX):
            continue
        req_id = name[len(REQ_TAG_PREFIX) :]
        if req_id and req_id not in ids:
            ids.append(req_id)
    return ids


def _check_sentences(catalogue: Catalogue, seeds_dir: Path, shown: str) -> None:
    seeds: dict[str, str] = {}
    for index, source in enumerate(catalogue.sources):
        seed_path = seeds_dir / source.file
        try:
            seeds[source.file] = collapse_whitespace(seed_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CatalogueError(
                f"{shown}: source #{index} {source.file}: seed file not found in {seeds_dir}"
            ) from exc
    for req in catalogue.requirements:
        for where, occ in _labelled_occurrences(req):
            if collapse_whitespace(occ.sentence) not in seeds[occ.source]:
                raise CatalogueError(
                    f"{shown}: requirement {req.id}: {where}sentence not found verbatim "
                    f"in {occ.source}: {_shorten(occ.sentence)!r}"
                )


def _labelled_occurrences(req: Requirement) -> list[tuple[str, Occurrence]]:
    labels = [""] + [f"also_in[{i}]: " for i in range(len(req.also_in))]
    return list(zip(labels, req.occurrences(), strict=True))


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"


def _describe_validation_error(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "missing required field"

    where, rest = _describe_location(loc, raw)
    parts = [where] if where else []
    if rest:
        parts.append(".".join(str(part) for part in rest))
    parts.append(message)
    more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
    return ": ".join(parts) + more


def _describe_location(loc: tuple[Any, ...], raw: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """Name the entry an error location points into, e.g. ``requirement SCOPE-01``."""
    if len(loc) >= 2 and loc[0] in ("requirements", "sources") and isinstance(loc[1], int):
        kind, key = ("requirement", "id") if loc[0] == "requirements" else ("source", "file")
        index = loc[1]
        entries = raw.get(loc[0])
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
        name = entry.get(key) if isinstance(entry, dict) else None
        label = f"{kind} {name}" if isinstance(name, str) and name.strip() else f"{kind} #{index}"
        return label, loc[2:]
    return ("catalogue", loc) if loc else ("", ())


def _display(path: Path) -> str:
    """Relative to the repository in a checkout (``features/requirements.yaml``), else as is."""
    root = bundled.project_root()
    try:
        return path.resolve().relative_to(root).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def _shorten(text: str, limit: int = 80) -> str:
    text = collapse_whitespace(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
