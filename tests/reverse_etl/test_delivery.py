"""The shared delivery mechanics: rate limit, backoff with jitter, Retry-After parsing."""

import datetime as dt
import email.utils
import time

from reverse_etl.delivery import RateLimiter, RetryPolicy
from reverse_etl.destinations.http_api import parse_retry_after


def test_rate_limiter_spaces_requests_to_the_configured_rate():
    limiter = RateLimiter(per_second=50)
    started = time.monotonic()
    for _ in range(11):
        limiter.acquire()
    assert time.monotonic() - started >= 10 / 50 * 0.95


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    policy = RetryPolicy(max_attempts=10, initial_backoff=1.0, max_backoff=8.0)
    delays = [policy.delay(attempt, None) for attempt in range(1, 7)]
    assert 0.5 <= delays[0] <= 1.0 and 2.0 <= delays[2] <= 4.0
    assert all(4.0 <= d <= 8.0 for d in delays[3:])
    assert len({policy.delay(3, None) for _ in range(20)}) > 1  # jittered


def test_retry_after_is_honoured_in_seconds_or_as_an_http_date():
    assert RetryPolicy().delay(1, 7.0) == 7.0
    assert parse_retry_after("120") == 120.0
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 31
    assert parse_retry_after("soon") is None
