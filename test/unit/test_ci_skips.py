"""The CI plugin (test/ci_skips.py): with CI=true a skip fails, unless marked ci_may_skip with a
reason; without CI a skip stays a skip. Run in a nested pytest (pytester) with the plugin loaded."""
import sys

import pytest

MISSING_AT_IMPORT = """
import pytest
libsumo = pytest.importorskip("libsumo")

def test_runs_sumo():
    assert libsumo is not None
"""

SKIPS_AT_RUN = """
import pytest

def test_needs_gcc():
    pytest.skip("no gcc on this machine")
"""


@pytest.fixture
def run(pytester, monkeypatch):
    def run(source: str, ci: bool):
        if ci:
            monkeypatch.setenv("CI", "true")
        else:
            monkeypatch.delenv("CI", raising=False)
        pytester.makepyfile(test_subject=source)
        return pytester.runpytest("-p", "ci_skips", "-p", "no:cacheprovider")
    return run


@pytest.fixture
def hidden_libsumo(monkeypatch):
    """A simulated CI machine where libsumo is not installed: importing it raises ImportError."""
    monkeypatch.setitem(sys.modules, "libsumo", None)


@pytest.mark.usefixtures("hidden_libsumo")
def test_a_module_skipped_for_a_missing_dependency_fails_in_ci(run):
    result = run(MISSING_AT_IMPORT, ci=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*skipped in CI (CI=true)*could not import 'libsumo'*"])
    assert result.ret != 0


@pytest.mark.usefixtures("hidden_libsumo")
def test_the_same_module_skips_outside_ci(run):
    result = run(MISSING_AT_IMPORT, ci=False)
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED   # a skip, not a failure


def test_a_test_skipped_at_run_time_fails_in_ci(run):
    result = run(SKIPS_AT_RUN, ci=True)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_needs_gcc skipped in CI (CI=true)*no gcc on this machine*"])


def test_a_whole_directory_skipped_by_its_conftest_fails_in_ci(pytester, monkeypatch):
    monkeypatch.setitem(sys.modules, "cyclonedds", None)
    monkeypatch.setenv("CI", "true")
    dds = pytester.mkdir("dds")
    (dds / "conftest.py").write_text('import pytest\npytest.importorskip("cyclonedds")\n')
    (dds / "test_dds.py").write_text("def test_dds():\n    pass\n")
    result = pytester.runpytest("-p", "ci_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*skipped in CI (CI=true)*could not import 'cyclonedds'*"])


def test_a_skip_marked_ci_may_skip_with_a_reason_stays_a_skip_in_ci(run):
    source = ('import pytest\n\n@pytest.mark.ci_may_skip(reason="ROS 2 is installed with the OS")\n'
              + SKIPS_AT_RUN.replace("import pytest\n", ""))
    result = run(source, ci=True)
    result.assert_outcomes(skipped=1)


def test_ci_may_skip_without_a_reason_does_not_allow_the_skip(run):
    source = 'import pytest\n\n@pytest.mark.ci_may_skip\n' + SKIPS_AT_RUN.replace("import pytest\n", "")
    result = run(source, ci=True)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*needs a reason=...*"])


def test_an_expected_failure_is_left_alone_in_ci(run):
    source = 'import pytest\n\n@pytest.mark.xfail(reason="known")\ndef test_known():\n    assert False\n'
    result = run(source, ci=True)
    result.assert_outcomes(xfailed=1)
