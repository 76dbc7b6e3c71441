"""Retry decisions as a pure function of a policy, an attempt and an error."""

from __future__ import annotations

from typing import Any

from partita.model.campaign import RetryPolicy


def retry_delay(policy: RetryPolicy, attempt: int, error: dict[str, Any]) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None when the run has failed for good."""
    if error.get("nonRetryable") or error.get("type") in policy.non_retryable_errors:
        return None
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return None
    initial = policy.initial_interval.total_seconds()
    cap = (
        policy.maximum_interval.total_seconds()
        if policy.maximum_interval is not None
        else initial * 100
    )
    delay: float = initial * policy.backoff_coefficient ** (attempt - 1)
    return min(delay, cap)
