"""How a failed API call becomes `core.errors.UpstreamError`, the same way for every client.

Retryable: HTTP 429, every 5xx, timeouts and connection failures. Not retryable: every other
4xx (a bad request, a missing object, a refused permission stays so on retry). `Retry-After` is
read as seconds or as an HTTP date. The retry loop itself belongs to the response engine, which
records every attempt; the clients only raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from core.errors import UpstreamError


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta seconds or HTTP date); None if absent."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header value looked up case-insensitively in any mapping of headers."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    if isinstance(value, list | set | tuple):
        value = next(iter(value), None)
    return None if value is None else str(value)


def status_failure(api: str, method: str, url: str, status: int,
                   headers: Mapping[str, Any] | None, detail: str) -> UpstreamError:
    """The error for an HTTP answer that was not a success."""
    retryable = is_retryable_status(status)
    retry_after = parse_retry_after(header(headers, "Retry-After")) if retryable else None
    return UpstreamError(
        f"{api} answered {status} to {method} {url}: {detail}".rstrip(": "),
        retryable=retryable, retry_after=retry_after,
        api=api, status=status, method=method, url=url,
    )


def transport_failure(api: str, method: str, url: str, reason: str) -> UpstreamError:
    """The error for a call that got no answer: a timeout or a refused connection."""
    return UpstreamError(
        f"{api} did not answer {method} {url}: {reason}",
        retryable=True, retry_after=None, api=api, status=None, method=method, url=url,
    )
