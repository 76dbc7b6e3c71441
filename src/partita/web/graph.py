"""A campaign version as a graph: its stages as nodes, the stages each can lead to as edges.

Edges come from what can be read without running anything: a literal ``stageSelector``, the
string literals inside a selector expression that name a stage, a parallel stage's
``branches`` and a stage's ``compensate``. A selector that computes a stage name from data
adds no edge; the console shows such a stage's taken edges from its activation's runs.
"""

from __future__ import annotations

import re
from typing import Any

from partita.model.campaign import Campaign, StageSpec

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
"""One ``${{ … }}`` expression in a template string (the same delimiters as ``partita.expr``)."""
STRING_LITERAL = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")
"""A quoted string literal, CEL's and Symphony's spelling alike; escapes are kept as written."""
SYMPHONY_PREFIX = "providers.stage."


def campaign_graph(campaign: Campaign) -> dict[str, Any]:
    """The graph of ``campaign`` as JSON data: ``{firstStage, nodes, edges}``.

    A node is ``{name, provider, fanOut, site, compensates, first}``; an edge is
    ``{source, target, kind}`` with kind ``next`` (a selector), ``branch`` (a parallel
    stage's branch) or ``compensate`` (the stage that undoes the source).
    """
    stages = campaign.spec.stages
    compensators = {s.compensate: name for name, s in stages.items() if s.compensate}
    nodes = [
        {
            "name": name,
            "provider": stage.provider.removeprefix(SYMPHONY_PREFIX),
            "fanOut": stage.contexts is not None or bool(stage.branches),
            "site": _site(stage),
            "compensates": compensators.get(name, ""),
            "first": name == campaign.spec.first_stage,
        }
        for name, stage in stages.items()
    ]
    edges: list[dict[str, str]] = []
    for name, stage in stages.items():
        for target in selector_targets(stage.stage_selector, stages):
            edges.append({"source": name, "target": target, "kind": "next"})
        for branch in stage.branches or ():
            if branch in stages:
                edges.append({"source": name, "target": branch, "kind": "branch"})
        if stage.compensate and stage.compensate in stages:
            edges.append({"source": name, "target": stage.compensate, "kind": "compensate"})
    return {"firstStage": campaign.spec.first_stage, "nodes": nodes, "edges": edges}


def selector_targets(selector: str | None, stages: dict[str, StageSpec]) -> list[str]:
    """The stages a selector can name, in the order they appear, each once."""
    if not selector:
        return []
    expressions = EXPRESSION.findall(selector)
    if not expressions:
        return [selector] if selector in stages else []
    found: list[str] = []
    for expression in expressions:
        for match in STRING_LITERAL.finditer(expression):
            literal = match.group(1) if match.group(1) is not None else match.group(2)
            if literal in stages and literal not in found:
                found.append(literal)
    return found


def _site(stage: StageSpec) -> str:
    """Where a stage runs when it is remote: its ``site`` as written, or empty.

    ``site`` arrives with federation; until a stage model has it, no stage is remote.
    """
    value = getattr(stage, "site", None)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
