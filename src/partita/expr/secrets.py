"""References to secrets: what expressions yield for ``secrets.NAME`` (CEL) and
``$secret(obj, key)`` (Symphony's dialect).

Expressions never see a secret's value: they yield a reference, a marker string that the
history keeps as it is. The runtime swaps each reference for the value only in what it hands
to a provider or a worker, and swaps values back out of what comes back.
"""

from __future__ import annotations

import re

OPEN, CLOSE = "\u00absecret:", "\u00bb"
PATTERN = re.compile("\u00absecret:([A-Za-z0-9._/@-]{1,257})\u00bb")
"""A reference: ``«secret:NAME»``, or ``«secret:OBJ/KEY»`` for a key of a JSON secret."""


def reference(name: str, key: str = "") -> str:
    return f"{OPEN}{name}/{key}{CLOSE}" if key else f"{OPEN}{name}{CLOSE}"
