"""Symphony's expression dialect: Symphony's semantics, parsed from a lark grammar."""

from __future__ import annotations

from typing import Any

import pytest

from partita.engine import compile_campaign
from partita.errors import InvalidInputError
from partita.expr import ExpressionError, Template, evaluator_for
from partita.model.documents import parse_campaign_spec

SYMPHONY = "workflow.symphony/v1"
ENV: dict[str, Any] = {
    "triggers": {"foo": 3, "name": "edge"},
    "inputs": {"__site": "s1", "context": {"region": "eu"}},
    "outputs": {
        "counter": {"val": 5},
        "w": {"weight": 50},
        "approval": {"status": 200, "body": '{"ok": true}'},
        "deploy": {"s1.status": 200, "s2.status": 500},
    },
    "value": {"region": "eu", "zones": [1, 2]},
}


def render(source: Any, env: dict[str, Any] | None = None) -> Any:
    return Template.compile(source, evaluator_for(SYMPHONY)).render(ENV if env is None else env)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("deploy", "deploy"),  # no ${{: literal
        ("${{ roll-back }}", "roll-back"),  # words are text; - joins them
        ("${{5/2+1}}", 3.5),
        ("${{6/2}}", 3),
        ("${{2*3-1}}", 5),
        ("${{x/0}}", "x/0"),
        ("${{a+b}}", "ab"),
        ("${{1.0+2.0}}", "1.02.0"),  # a dotted number is text, as in Symphony
        ("${{site1.status}}", "site1.status"),
        ("${{a:b}}", "a:b"),
        ("${{a,b}}", "a,b"),
        ("${{-3+1}}", -2),
        ("${{[a]}}", "[a]"),
        ("${{'http://host:80/x?y=1'}}", "http://host:80/x?y=1"),
        ('${{"quoted"}}', '"quoted"'),
        ("${{$trigger(foo, 0)}}", 3),
        ("${{$trigger(missing, 7)}}", 7),
        ("${{$input(__site)}}", "s1"),
        ("x-${{$input(__site)}}-${{$trigger(name, '')}}", "x-s1-edge"),
        ("${{$output(counter,val)}}", 5),
        ("${{$output(deploy,s2.status)}}", 500),
        ("${{$if($lt($output(counter,val),20), counter, '')}}", "counter"),
        (
            "${{$if($le($output(w,weight),0), roll-back, "
            "$if($ge($output(w,weight),100), finalize, adjust-weight))}}",
            "adjust-weight",
        ),
        ("${{$equal($output(approval,status),200)}}", True),
        ("${{$equal(abc, 'abc')}}", True),
        ("${{$and(true, $not(false))}}", True),
        ("${{$or('false', false)}}", False),
        ("${{$gt(3, 2)}}", True),
        ("${{$between(5, 1, 10)}}", True),
        ("${{$in(b, a, b, c)}}", True),
        ("${{$in(z, a, b)}}", False),
        ("${{$json($output(counter,val))}}", "5"),
        ("${{$str(42)}}", "42"),
        ("${{$context(region)}}", "eu"),
        ("${{$val('$.zones[1]')}}", 2),
        ("${{$jsonpath($output(approval,body), '$.ok')}}", True),
        ("${{$base64decode($base64encode('a b'))}}", "a b"),
        ({"list": ["${{$trigger(foo,0)}}", "x"]}, {"list": [3, "x"]}),
    ],
)
def test_evaluates_as_symphony_does(source: Any, value: Any) -> None:
    assert render(source) == value


def test_if_evaluates_only_the_chosen_branch() -> None:
    assert render("${{$if(true, yes, $output(nowhere, x))}}") == "yes"


def test_output_is_empty_before_any_stage_finished() -> None:
    assert render("${{$output(mock, foo)}}", {**ENV, "outputs": {}}) == ""


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("${{a b}}", "unexpected 'b' at column 3"),
        ("${{$nope(1)}}", "unknown function $nope at column 1"),
        ("${{$if(1, 2)}}", "$if() at column 1 takes 3 arguments, not 2"),
        ("${{$output(a, b}}", "unexpected end of expression"),
        ("${{ 1 + # }}", "unexpected character '#' at column 5"),
    ],
)
def test_syntax_errors_name_the_position(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        render(source)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("${{$output(nowhere, x)}}", "$output() at column 1: stage 'nowhere' has no outputs yet"),
        ("${{$output(counter, nope)}}", "stage 'counter' has no output 'nope'"),
        ("${{$gt(abc, 1)}}", "$gt() at column 1: 'abc' is not a valid number"),
        ("${{$and(maybe, true)}}", "'maybe' is not a boolean value"),
        ("${{$trigger(absent)}}", "the activation has no input 'absent'"),
        ("${{$if(true, $input(nothing), x)}}", "$input() at column 11"),
    ],
)
def test_evaluation_errors_name_the_function_and_column(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        render(source)
    assert message in str(caught.value)


def test_a_bad_expression_is_refused_when_the_campaign_is_created() -> None:
    spec = {
        "firstStage": "a",
        "stages": {
            "a": {
                "name": "a",
                "provider": "providers.stage.mock",
                "inputs": {"x": "${{$if($lt(1, 2), a}}"},
                "stageSelector": "${{$output(a,foo) $output(a,bar)}}",
            }
        },
    }
    parsed = parse_campaign_spec(spec, SYMPHONY)
    with pytest.raises(InvalidInputError) as caught:
        compile_campaign("c", 1, SYMPHONY, parsed, ["symphony.mock"])
    found = {v.field: v.description for v in caught.value.violations}
    assert set(found) == {"spec.stages.a.inputs", "spec.stages.a.stageSelector"}
    assert "unexpected end of expression" in found["spec.stages.a.inputs"]
    assert "at column 16" in found["spec.stages.a.stageSelector"]


def test_values_inside_text_read_as_symphony_formats_them() -> None:
    assert render("n=${{$output(counter,val)}} v=${{$context()}}") == (
        'n=5 v={"region":"eu","zones":[1,2]}'
    )
    assert render("ok=${{$equal(1, 1)}}") == "ok=true"
