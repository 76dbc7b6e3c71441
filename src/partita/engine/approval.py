"""The built-in ``approval`` provider: a stage that waits for a person to answer a form.

Its config::

    fields:            # the form: each field's type and whether an answer must fill it
      ticket: {type: string, required: true}
      replicas: {type: number}
    approvers:         # who may answer (default: any operator of the namespace)
      role: admin      # reader, operator or admin: the least role that may answer
      names: [alice]   # and/or these principals only
    timeout: 4h        # optional: then ``default`` decides
    default: reject    # approve or reject (default reject)

The stage waits for the signal ``approval:<stage>`` that only the approval API sends (after
checking the form and the approver). Approving completes the stage with outputs
``{decision, by, fields}``; rejecting fails it (not retried) with ``Rejected``.
"""

from __future__ import annotations

from typing import Any

from partita.errors import FieldViolation, InvalidInputError

PROVIDER = "approval"
EVENT_PREFIX = "approval:"
TIMER_KIND = "approval-timeout"
DECISIONS = ("approve", "reject")
FIELD_TYPES = {"string": (str,), "number": (int, float), "boolean": (bool,)}
ROLES = ("reader", "operator", "admin")


def event_of(stage: str) -> str:
    return EVENT_PREFIX + stage


def check_config(config: dict[str, Any], where: str) -> list[FieldViolation]:
    """What is wrong with an approval stage's config."""
    out: list[FieldViolation] = []
    fields = config.get("fields", {})
    if not isinstance(fields, dict):
        return [FieldViolation(f"{where}.config.fields", "must be a map of field name to spec")]
    for name, spec in fields.items():
        at = f"{where}.config.fields.{name}"
        if not isinstance(spec, dict):
            out.append(FieldViolation(at, "must be {type, required}"))
            continue
        if spec.get("type", "string") not in FIELD_TYPES:
            out.append(FieldViolation(f"{at}.type", f"must be one of {', '.join(FIELD_TYPES)}"))
        if not isinstance(spec.get("required", False), bool):
            out.append(FieldViolation(f"{at}.required", "must be true or false"))
    approvers = config.get("approvers", {})
    if not isinstance(approvers, dict):
        out.append(FieldViolation(f"{where}.config.approvers", "must be {role, names}"))
    else:
        if approvers.get("role", "operator") not in ROLES:
            out.append(FieldViolation(f"{where}.config.approvers.role", f"must be one of {ROLES}"))
        names = approvers.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            out.append(FieldViolation(f"{where}.config.approvers.names", "must be a list"))
    if config.get("default", "reject") not in DECISIONS:
        out.append(FieldViolation(f"{where}.config.default", "must be approve or reject"))
    return out


def check_answer(config: dict[str, Any], decision: str, fields: dict[str, Any]) -> None:
    """InvalidInputError naming each field of an answer that does not fit the form."""
    if decision not in DECISIONS:
        raise InvalidInputError.field("decision", "must be approve or reject")
    form: dict[str, Any] = config.get("fields") or {}
    out: list[FieldViolation] = []
    for name in fields:
        if name not in form:
            out.append(FieldViolation(f"fields.{name}", "is not a field of the form"))
    for name, spec in form.items():
        value = fields.get(name)
        kind = spec.get("type", "string")
        if value is None:
            if spec.get("required") and decision == "approve":
                out.append(FieldViolation(f"fields.{name}", "is required"))
            continue
        types = FIELD_TYPES.get(kind, (str,))
        if not isinstance(value, types) or (kind == "number" and isinstance(value, bool)):
            out.append(FieldViolation(f"fields.{name}", f"must be a {kind}"))
    if out:
        raise InvalidInputError(out)


def may_answer(config: dict[str, Any], name: str, role: str) -> bool:
    """Whether the principal ``name`` holding ``role`` may answer (``role`` "" for none)."""
    approvers = config.get("approvers") or {}
    names = approvers.get("names") or []
    if names and name not in names:
        return False
    least = approvers.get("role", "operator")
    return role in ROLES and ROLES.index(role) >= ROLES.index(least)


def outputs(decision: str, by: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"decision": decision, "by": by, "fields": dict(fields)}


def rejection(by: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Rejected",
        "message": f"rejected by {by}",
        "details": outputs("reject", by, fields),
        "nonRetryable": True,
    }
