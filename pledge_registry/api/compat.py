"""Whether a new OpenAPI document only adds to an old one (no Flask): `v1` never breaks.

What the old document says must still hold in the new one: every path, operation,
parameter, response, schema and property is still there, with the same types, formats,
bounds and enums; documentation prose (description, summary) may be reworded. A new
parameter must be optional, and a request body may not require a field it did not.
"""

from __future__ import annotations

from typing import Any

PROSE = frozenset({"description", "summary"})


def _request_schemas(doc: dict[str, Any]) -> set[str]:
    names = set()
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                names.add(ref.rsplit("/", 1)[-1])
    return names


def _parameter_key(p: Any) -> Any:
    return (p.get("in"), p.get("name")) if isinstance(p, dict) and "name" in p else repr(p)


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What the new document removes or changes from the old; [] when it only adds."""
    problems: list[str] = []
    request_schemas = _request_schemas(old) | _request_schemas(new)

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict):
            if not isinstance(b, dict):
                problems.append(f"{where}: no longer an object")
                return
            for key, value in a.items():
                if key in PROSE:
                    continue
                if key not in b:
                    problems.append(f"{where}/{key}: removed")
                    continue
                walk(value, b[key], f"{where}/{key}")
            return
        if isinstance(a, list):
            if not isinstance(b, list):
                problems.append(f"{where}: no longer a list")
                return
            if where.endswith("/parameters"):
                by_key = {_parameter_key(p): p for p in b}
                for p in a:
                    if _parameter_key(p) not in by_key:
                        problems.append(f"{where}: parameter {_parameter_key(p)} removed")
                    else:
                        walk(p, by_key[_parameter_key(p)], f"{where}/{_parameter_key(p)}")
                old_keys = {_parameter_key(p) for p in a}
                for p in b:
                    if _parameter_key(p) not in old_keys and p.get("required"):
                        problems.append(f"{where}: new parameter {_parameter_key(p)} is required")
                return
            if where.endswith("/required"):
                missing = [x for x in a if x not in b]
                added = [x for x in b if x not in a]
                schema = where.split("/")[-2]
                if schema in request_schemas and added:
                    problems.append(f"{where}: a request now requires {added}")
                if missing and schema not in request_schemas:
                    problems.append(f"{where}: an answer no longer guarantees {missing}")
                return
            if where.endswith("/enum") or where.endswith("/type"):
                if [x for x in a if x not in b] or (where.endswith("/type") and a != b):
                    problems.append(f"{where}: {a} became {b}")
                return
            if a != b and not all(x in b for x in a):
                problems.append(f"{where}: {a} became {b}")
            return
        if a != b:
            problems.append(f"{where}: {a!r} became {b!r}")

    walk(old, new, "")
    return problems
