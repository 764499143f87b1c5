"""The spec language: YAML spec files → validated, canonical desired state.

Public API:

* `load_spec(path, *, environ=None) -> LoadedSpec` - load a spec file or directory; raises
  `spd.errors.SpecError` carrying every located problem.
* `LoadedSpec` - `desired` (`spd.model.DesiredState`) and `warnings` (`Diagnostic`s).
* `spec_json_schema()` - the JSON Schema of a spec file (`spd schema`).

No AWS library, logger or scheduler is imported here: the package returns data.
"""

from spd.spec.loader import LoadedSpec, load_spec
from spd.spec.schema import spec_json_schema

__all__ = ["LoadedSpec", "load_spec", "spec_json_schema"]
