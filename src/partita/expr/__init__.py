"""Expressions in inputs, config, selectors and contexts.

A string may hold ``${{ … }}`` expressions. A string that is exactly one expression yields
the expression's typed value; otherwise the parts are joined into a string. Expressions are
pure (no clock, no randomness, no I/O) and compiled once per campaign version.
"""

from partita.expr._evaluators import CelEvaluator, Evaluator, Expression, evaluator_for
from partita.expr._template import ExpressionError, Template

__all__ = [
    "CelEvaluator",
    "Evaluator",
    "Expression",
    "ExpressionError",
    "Template",
    "evaluator_for",
]
