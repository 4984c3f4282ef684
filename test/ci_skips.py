"""pytest plugin: in CI (environment CI=true) a skipped test or test module fails instead.

`make test` installs every optional dependency the tests use (see the Makefile's EXTRAS), so in CI
a skip means a broken install, not a machine without the extra. What is bound to the machine
and cannot come from the Makefile (a ROS 2 installation for rclpy) is allowed to skip with
``@pytest.mark.ci_may_skip(reason=...)``; the reason is required. Expected failures (xfail) are
left alone. Outside CI skips stay skips.
"""
import os

import pytest

MARKER = "ci_may_skip"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(reason): may skip in CI too (CI=true): what the test needs is bound to the "
                   "machine and not installed by the Makefile; the reason says what and why")


def _skip_message(longrepr: object) -> str:
    """The skip reason of a report (pytest keeps it as (path, line, message) for skips)."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _failure(what: str, reason: str) -> str:
    return (f"{what} skipped in CI (CI=true), where every dependency the Makefile installs must be "
            f"present: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    allowed = item.get_closest_marker(MARKER)
    if allowed is not None and allowed.kwargs.get("reason"):
        return
    reason = _skip_message(report.longrepr)
    if allowed is not None:
        reason += f" (@pytest.mark.{MARKER} needs a reason=...)"
    report.outcome = "failed"
    report.longrepr = _failure(item.nodeid, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = _failure(collector.nodeid or str(collector.path), _skip_message(report.longrepr))
