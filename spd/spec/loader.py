"""`load_spec`: a spec file or directory → the validated, canonical `DesiredState` (or every problem).

The public entry point of `spd.spec`, called by the CLI (`spd validate`, `plan`, `apply`, `status`) and
by the daemon on start and on SIGHUP. Steps, per file: read the text, parse YAML with positions
(`yaml_source`), apply `defaults` to each processor (`merge`), check the shape (`schema`) and the
cross-key rules (`validate`); then the rules across files. Every problem found is located and returned
at once in a `SpecError`; warnings never fail a load. Nothing here logs or talks to AWS.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from spd.errors import Diagnostic, SpecError
from spd.model import AMBIENT_TARGET, DesiredProcessor, DesiredState, LocatedReference, SourceLocation, Target
from spd.spec.canonical import desired_processor
from spd.spec.files import read_spec_text, spec_files
from spd.spec.issues import Issue
from spd.spec.merge import merge_defaults, source_path
from spd.spec.positions import Path as KeyPath
from spd.spec.positions import Positions, format_path
from spd.spec.scalars import describe
from spd.spec.schema import SpecDocument
from spd.spec.schema_errors import issues_from_validation_error
from spd.spec.targets import DeclaredTarget, check_targets, declared_target, role_chain, target_issues
from spd.spec.validate import Declared, check_defaults, check_processor, cross_spec_issues
from spd.spec.yaml_source import SourceDocument, read_document


@dataclass(frozen=True)
class LoadedSpec:
    """A spec that passed validation, and the warnings it raised on the way."""

    desired: DesiredState
    warnings: tuple[Diagnostic, ...] = ()


@dataclass
class _File:
    """One file on its way through the checks."""

    source: SourceDocument
    model: SpecDocument | None = None
    """The validated file without its processors (its stack and targets)."""
    desired: list[DesiredProcessor] | None = field(default_factory=list)
    """The file's processors in the desired state, converted as they are validated; None once the file
    has an error (the spec fails then, and nothing converted is needed)."""
    merged: list[Any] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.source.file

    def locate(self, path: KeyPath) -> tuple[int, int]:
        located, _ = source_path(path, self.source.data)
        return self.source.positions.locate(self.source.data, located)

    def where(self, path: KeyPath) -> str:
        line, column = self.locate(path)
        return f"{self.name}:{line}:{column}"

    def diagnostic(self, issue: Issue, *, inherited_note: bool = True) -> Diagnostic:
        """`issue` located where its value is written (in `defaults` when inherited from there)."""
        located, inherited = source_path(issue.path, self.source.data)
        line, column = self.source.positions.locate(self.source.data, located, issue.at)
        message = issue.message
        if inherited and inherited_note:
            message += " (inherited from defaults)"
        return Diagnostic(self.name, line, column, format_path(issue.path), message, issue.severity)

    def add(self, issue: Issue) -> None:
        diagnostic = self.diagnostic(issue)
        self.diagnostics.append(diagnostic)
        if diagnostic.severity == "error":
            self.desired = None


def load_spec(path: Path, *, environ: Mapping[str, str] | None = None) -> LoadedSpec:
    """Load, validate and canonicalise the spec at `path` (a file, or a directory of YAML files).

    `environ` fills `${VAR}` references (default: the process environment). Raises `SpecError` with
    every problem found, errors and warnings, sorted by file, line and column.
    """
    with _cyclic_gc_paused():
        return _load(path, os.environ if environ is None else environ)


def _load(path: Path, environ: Mapping[str, str]) -> LoadedSpec:
    # A function of its own so that the parsed files are freed before the collector is resumed.
    files = [_check_file(file, environ) for file in spec_files(path)]
    diagnostics = [d for f in files for d in f.diagnostics]
    diagnostics.extend(_across_files(files))
    diagnostics = _sorted_unique(diagnostics)
    warnings = tuple(d for d in diagnostics if d.severity == "warning")
    if len(warnings) != len(diagnostics):
        raise SpecError(diagnostics)
    return LoadedSpec(desired=_desired_state(files), warnings=warnings)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a spec loads.

    Loading allocates hundreds of thousands of small dicts, lists and models that never form cycles;
    the collector would scan them again and again as they pile up (a third of the time for a
    10,000-processor spec). Reference counting still frees everything; the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_file(file: Path, environ: Mapping[str, str]) -> _File:
    """Read one file and run every check that needs only this file."""
    text = read_spec_text(file)
    if isinstance(text, Diagnostic):
        return _File(SourceDocument(str(file), None, Positions(), (), False), diagnostics=[text])
    checked = _File(read_document(text, str(file), environ))
    del text  # the parsed data has everything needed from it; a large file's text is megabytes
    source = checked.source
    for problem in source.problems:
        checked.diagnostics.append(
            Diagnostic(checked.name, problem.line, problem.column, format_path(problem.path), problem.message)
        )
    if not source.parsed:
        return checked
    if source.data is None:
        message = "empty spec file; expected a mapping with version, stack and processors"
        checked.diagnostics.append(Diagnostic(checked.name, 1, 1, "", message))
    elif not isinstance(source.data, dict):
        line, column = source.positions.locate(source.data, ())
        message = (
            f"a spec file is a mapping (version, stack, defaults, processors), not {describe(source.data)}"
        )
        checked.diagnostics.append(Diagnostic(checked.name, line, column, "", message))
    else:
        before = len(checked.diagnostics)
        _check_document(checked, source.data)
        # A value whose ${VAR} could not be expanded (or a key refused while reading) has been reported
        # already; what the schema says about the unexpanded text would only be noise.
        claimed = {(problem.line, problem.column) for problem in source.problems}
        checked.diagnostics[before:] = [
            d for d in checked.diagnostics[before:] if (d.line, d.column) not in claimed
        ]
    return checked


def _check_document(checked: _File, data: dict[str, Any]) -> None:
    """Defaults applied, then the schema and the cross-key rules, on one file's mapping."""
    defaults = data.get("defaults")
    processors = data.get("processors")
    document = dict(data)
    if isinstance(processors, list):
        checked.merged = [
            merge_defaults(defaults, item) if isinstance(defaults, dict) and isinstance(item, dict) else item
            for item in processors
        ]
        document["processors"] = checked.merged
    if any(d.severity == "error" for d in checked.diagnostics):
        checked.desired = None
    # The rules first: they read the merged mappings, and a file they find wrong is not converted.
    if isinstance(defaults, dict):
        for issue in check_defaults(defaults):
            checked.add(issue)
    for issue in check_targets(data.get("targets")):
        checked.add(issue)
    for index, merged in enumerate(checked.merged):
        if isinstance(merged, dict) and isinstance(processors, list):
            for issue in check_processor(merged, processors[index], index):
                checked.add(issue)
    for start, part in _parts(document):
        try:
            model = SpecDocument.model_validate(part)
        except ValidationError as exc:
            for issue in issues_from_validation_error(exc):
                issue = _shifted(issue, start)
                _, inherited = source_path(issue.path, data)
                if not inherited:  # a bad default value is reported once, under defaults
                    checked.add(issue)
            checked.desired = None
            continue
        if checked.model is None:
            checked.model = model.model_copy(update={"processors": []})
        if checked.desired is not None:
            _convert(checked, model, start)


VALIDATED_AT_ONCE = 1000
"""Processors validated in one call: the models of a whole large file would take more memory than its
desired state, so a file is validated in parts of this many processors, each converted and dropped."""


def _parts(document: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index of the first processor, the document with only those processors), part after part.

    Each part is the whole document but for its processors, so each reports the same problems outside
    `processors` (they are reported once: identical diagnostics are merged).
    """
    processors = document.get("processors")
    if not isinstance(processors, list) or len(processors) <= VALIDATED_AT_ONCE:
        yield 0, document
        return
    for start in range(0, len(processors), VALIDATED_AT_ONCE):
        yield start, {**document, "processors": processors[start : start + VALIDATED_AT_ONCE]}


def _shifted(issue: Issue, start: int) -> Issue:
    """`issue` of a part that starts at processor `start`, addressed in the whole file."""
    path = issue.path
    if start and len(path) >= 2 and path[0] == "processors" and isinstance(path[1], int):
        return replace(issue, path=("processors", path[1] + start, *path[2:]))
    return issue


def _convert(checked: _File, model: SpecDocument, start: int) -> None:
    """The desired state of a validated part's processors, added to the file's."""
    desired = checked.desired
    if desired is None:  # pragma: no cover - the caller checks
        return
    source = checked.source
    for offset, spec in enumerate(model.processors):
        index = start + offset
        line, column = source.positions.locate(source.data, ("processors", index))
        processor = desired_processor(spec, model.stack, SourceLocation(checked.name, line, column))
        desired.append(
            replace(processor, references=_references(checked, index), target=spec.target or AMBIENT_TARGET)
        )


def _across_files(files: list[_File]) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    stack_owner: tuple[str, _File] | None = None
    for checked in files:
        data = checked.source.data
        stack = data.get("stack") if isinstance(data, dict) else None
        if not isinstance(stack, str):
            continue
        if stack_owner is None:
            stack_owner = (stack, checked)
        elif stack != stack_owner[0]:
            line, column = checked.locate(("stack",))
            diagnostics.append(
                Diagnostic(
                    checked.name,
                    line,
                    column,
                    "stack",
                    f"stack {stack!r} differs from {stack_owner[0]!r} in {stack_owner[1].where(('stack',))}; "
                    "every file of a spec belongs to one stack",
                )
            )
    declared = [
        Declared(ref=file_index, base=("processors", index), merged=merged)
        for file_index, checked in enumerate(files)
        for index, merged in enumerate(checked.merged)
        if isinstance(merged, dict)
    ]
    targets = _declared_targets(files, diagnostics)
    for entry in declared:
        for issue in target_issues(entry.merged, entry.base, targets):
            diagnostics.append(files[entry.ref].diagnostic(issue))
    for ref, issue in cross_spec_issues(declared, lambda ref, path: files[ref].where(path)):
        diagnostics.append(files[ref].diagnostic(issue, inherited_note=False))
    return diagnostics


def _declared_targets(files: list[_File], diagnostics: list[Diagnostic]) -> dict[str, DeclaredTarget]:
    """Every file's targets by name; a name declared twice is an error at the second declaration."""
    found: dict[str, tuple[DeclaredTarget, _File]] = {}
    for checked in files:
        data = checked.source.data
        targets = data.get("targets") if isinstance(data, dict) else None
        if not isinstance(targets, dict):
            continue
        for name, target in targets.items():
            if not isinstance(name, str) or not isinstance(target, dict):
                continue
            if name in found:
                line, column = checked.locate(("targets", name))
                first = found[name][1].where(("targets", name))
                diagnostics.append(
                    Diagnostic(
                        checked.name,
                        line,
                        column,
                        f"targets.{name}",
                        f"target {name!r} is already declared at {first}",
                    )
                )
                continue
            found[name] = (declared_target(name, target), checked)
    return {name: target for name, (target, _) in found.items()}


def _sorted_unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = dict.fromkeys(diagnostics)
    return sorted(unique, key=lambda d: (d.file, d.line, d.column, d.path, d.message))


REFERENCE_FIELDS: tuple[tuple[str, ...], ...] = (
    ("role_arn",),
    ("input", "kinesis_video_stream_arn"),
    ("output", "kinesis_data_stream_arn"),
    ("output", "s3_bucket"),
    ("face_search", "collection_id"),
    ("notification_channel", "sns_topic_arn"),
    ("kms_key_id",),
)
"""The processor keys that name another resource (what `spd check` looks up)."""


def _references(checked: _File, index: int) -> tuple[LocatedReference, ...]:
    """Where each reference of processor `index` is written, for findings that point at the value."""
    merged = checked.merged[index] if index < len(checked.merged) else None
    located: list[LocatedReference] = []
    for fields in REFERENCE_FIELDS:
        value: Any = merged
        for step in fields:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            continue
        # A value inherited from `defaults` is located, and named, there: one finding for all its users.
        written, _ = source_path(("processors", index, *fields), checked.source.data)
        line, column = checked.source.positions.locate(checked.source.data, written)
        located.append(
            LocatedReference(
                ".".join(fields), format_path(written), SourceLocation(checked.name, line, column)
            )
        )
    return tuple(located)


def _desired_state(files: list[_File]) -> DesiredState:
    processors: list[DesiredProcessor] = []
    targets: dict[str, Target] = {}
    stack = ""
    for checked in files:
        model = checked.model
        if model is None or checked.desired is None:  # pragma: no cover - such a file has an error
            raise ValueError(f"{checked.name} was not validated")
        stack = model.stack
        for name, spec_target in (model.targets or {}).items():
            account = declared_target(name, spec_target.model_dump()).account_id
            targets[name] = Target(
                name=name,
                regions=tuple(spec_target.regions),
                account_id=account,
                role_arns=tuple(role_chain(spec_target.role_arn) or ()),
                external_id=spec_target.external_id,
                profile=spec_target.profile,
            )
        processors.extend(checked.desired)
    return DesiredState(
        stack=stack,
        processors=tuple(processors),
        files=tuple(f.name for f in files),
        targets=tuple(targets[name] for name in sorted(targets)),
    )
