"""Reading campaign and activation documents (YAML or JSON, one or many per file)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from partita.errors import FieldViolation, InvalidInputError
from partita.model.campaign import PARTITA_API, SYMPHONY_API, CampaignSpec
from partita.model.symphony import CONTAINER_KINDS, NAME_SEPARATOR, object_name

API_VERSIONS = (PARTITA_API, SYMPHONY_API)
NAME_LIMIT = 253


@dataclass(frozen=True)
class Document:
    """One parsed document: ``apiVersion``, ``kind``, ``metadata`` and ``spec``."""

    api_version: str
    kind: str
    name: str
    namespace: str
    spec: dict[str, Any]
    index: int = 0
    """Position in its file, for error messages."""

    @property
    def role(self) -> str:
        """``campaign`` (a version to create), ``container`` (Symphony's ``Campaign`` that
        only groups versions: nothing to create) or ``activation``."""
        if self.kind == "Activation":
            return "activation"
        if self.kind in CONTAINER_KINDS or (
            self.api_version == SYMPHONY_API
            and self.kind == "Campaign"
            and not self.spec.get("stages")
        ):
            return "container"
        return "campaign"


@dataclass(frozen=True)
class ActivationDocument:
    """What a ``kind: Activation`` document asks for."""

    activation_id: str
    namespace: str
    campaign: str
    version: int = 0
    stage: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


def load_documents(text: str) -> list[Document]:
    """Parse every document in ``text``; raise InvalidInputError naming the first bad one."""
    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise InvalidInputError.field("document", f"not valid YAML or JSON: {exc}") from None
    if not raw:
        raise InvalidInputError.field("document", "holds no document")
    return [_document(item, i) for i, item in enumerate(raw)]


def _document(item: Any, index: int) -> Document:
    where = f"document[{index}]"
    if not isinstance(item, dict):
        raise InvalidInputError.field(where, "must be a mapping with apiVersion, kind, metadata")
    api_version = item.get("apiVersion")
    if api_version not in API_VERSIONS:
        raise InvalidInputError.field(
            f"{where}.apiVersion", f"{api_version!r} is not one of {', '.join(API_VERSIONS)}"
        )
    kind = str(item.get("kind"))
    kinds = SYMPHONY_KINDS if api_version == SYMPHONY_API else ("Campaign", "Activation")
    if kind not in kinds:
        raise InvalidInputError.field(
            f"{where}.kind", f"{item.get('kind')!r} is not {' or '.join(kinds)}"
        )
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidInputError.field(f"{where}.metadata", "must be a mapping")
    name = metadata.get("name") or ""
    check_name(f"{where}.metadata.name", name)
    namespace = metadata.get("namespace") or "default"
    check_name(f"{where}.metadata.namespace", namespace)
    spec = item.get("spec")
    if spec is None and api_version == SYMPHONY_API and kind != "Activation":
        spec = {}  # a Symphony container may leave its spec out
    if not isinstance(spec, dict):
        raise InvalidInputError.field(f"{where}.spec", "must be a mapping")
    if kind == "CampaignVersion":
        _check_version_name(where, name, spec)
    return Document(api_version, kind, name, namespace, spec, index)


SYMPHONY_KINDS = ("Campaign", "CampaignVersion", *CONTAINER_KINDS, "Activation")
"""Kinds of ``workflow.symphony/v1`` documents, both generations (0.48 and 0.49)."""


def _check_version_name(where: str, name: str, spec: dict[str, Any]) -> None:
    """Symphony names a campaign version ``<rootResource>-v-<version>``; its docs' examples
    leave ``rootResource`` out, and then any name goes."""
    root = spec.get("rootResource")
    if not root:
        return
    if not name.startswith(f"{root}{NAME_SEPARATOR}") or name == f"{root}{NAME_SEPARATOR}":
        raise InvalidInputError.field(
            f"{where}.metadata.name",
            f"{name!r} must be <rootResource>-v-<version>, as in {root}{NAME_SEPARATOR}v1",
        )


def check_name(field_name: str, name: object) -> str:
    """A resource name: non-empty text of at most 253 characters with no control characters."""
    if not isinstance(name, str) or not name:
        raise InvalidInputError.field(field_name, "is required")
    if len(name) > NAME_LIMIT or any(c.isspace() or ord(c) < 32 for c in name) or "/" in name:
        raise InvalidInputError.field(
            field_name,
            "must be at most 253 characters without spaces, slashes or control characters",
        )
    return name


def parse_campaign_spec(
    spec: dict[str, Any], api_version: str, where: str = "spec"
) -> CampaignSpec:
    """Validate a campaign spec's structure; InvalidInputError names every bad field."""
    data = dict(spec)
    if api_version == SYMPHONY_API:
        # Symphony's selfDriving defaults to false (stepped) when left out.
        data.setdefault("selfDriving", False)
    try:
        parsed = CampaignSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError([_violation(where, err) for err in exc.errors()]) from None
    violations = []
    if not parsed.stages:
        violations.append(FieldViolation(f"{where}.stages", "a campaign needs at least one stage"))
    for key, stage in parsed.stages.items():
        if stage.name is not None and stage.name != key:
            violations.append(
                FieldViolation(
                    f"{where}.stages.{key}.name", f"{stage.name!r} differs from the key {key!r}"
                )
            )
    if parsed.stages and parsed.first_stage not in parsed.stages:
        violations.append(
            FieldViolation(
                f"{where}.firstStage",
                f"{parsed.first_stage!r} names no stage (stages: {', '.join(parsed.stages)})",
            )
        )
    if violations:
        raise InvalidInputError(violations)
    return parsed


def _violation(where: str, err: Any) -> FieldViolation:
    path = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        message = "is not a known field"
    return FieldViolation(f"{where}.{path}" if path else where, message)


def activation_document(doc: Document) -> ActivationDocument:
    """Read a ``kind: Activation`` document in either dialect."""
    spec = doc.spec
    where = f"document[{doc.index}].spec"
    version = 0
    campaign = spec.get("campaign")
    if doc.api_version == SYMPHONY_API:
        # 0.48: spec.campaign; 0.49: spec.campaignversion; both as "<root>:<version>".
        reference = spec.get("campaignversion") or campaign
        if not isinstance(reference, str) or not reference:
            raise InvalidInputError.field(f"{where}.campaignversion", "is required")
        campaign = object_name(reference)
    elif campaign is None and "campaignversion" in spec:
        reference = str(spec["campaignversion"])
        campaign, _, label = reference.partition(":")
        version = int(label) if label.isdigit() else 0
    if not isinstance(campaign, str) or not campaign:
        raise InvalidInputError.field(f"{where}.campaign", "is required")
    if "version" in spec:
        raw_version = spec["version"]
        if not isinstance(raw_version, int) or raw_version < 0:
            raise InvalidInputError.field(f"{where}.version", "must be a whole number >= 0")
        version = raw_version
    inputs = spec.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise InvalidInputError.field(f"{where}.inputs", "must be a mapping")
    stage = spec.get("stage") or ""
    if not isinstance(stage, str):
        raise InvalidInputError.field(f"{where}.stage", "must be a stage name")
    return ActivationDocument(doc.name, doc.namespace, campaign, version, stage, inputs)


def spec_digest(spec: CampaignSpec, api_version: str) -> str:
    """A stable hash of a spec, so that applying the same document twice is a no-op."""
    canonical = json.dumps([api_version, spec.dump()], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
