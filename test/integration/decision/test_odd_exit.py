"""Takeover requests (closed loop, SUMO, ``stack``): odd_exit_takeover, odd_exit_no_driver, driver_asleep.

cav_0 drives at 30 m/s towards a construction zone where its operating domain ends (650 m ahead).
The mode selector finds the exit on its route in the map and raises a takeover request; the sim's
driver model answers it after 2-4 s (the CAV is then handed to SUMO's driver model: MANUAL), or,
unresponsive, never does: the request escalates and the CAV stops before the zone. In driver_asleep
the driver monitoring alone raises the request on an open road. Each run in a fresh process
(libsumo holds one simulation per process).
"""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from cav_stack.eval.report import read_trajectories
from cav_stack.app.runner import run_scenario

pytest.importorskip("libsumo")


def _run(name, out_dir):
    return run_scenario(name, seed=None, out_dir=out_dir, controller="stack")


def _in_fresh_process(name, out_dir):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_run, name, out_dir).result()


@pytest.fixture(scope="module")
def takeover(tmp_path_factory):
    return _in_fresh_process("odd_exit_takeover", tmp_path_factory.mktemp("odd_exit_takeover"))


@pytest.fixture(scope="module")
def no_driver(tmp_path_factory):
    return _in_fresh_process("odd_exit_no_driver", tmp_path_factory.mktemp("odd_exit_no_driver"))


@pytest.fixture(scope="module")
def asleep(tmp_path_factory):
    return _in_fresh_process("driver_asleep", tmp_path_factory.mktemp("driver_asleep"))


@pytest.fixture(scope="module")
def selector(mode_selector_params):
    return mode_selector_params.selector


def trace(run):
    rows = read_trajectories(run.out_dir / "trajectories.csv")
    return rows["time"], rows["speed"], rows["accel"]


def switches(run, mode):
    return [s for s in run.report["modes"]["switches"] if s["cav"] == "cav_0" and s["mode"] == mode]


def test_takeover_request_leads_the_exit_by_10_s_and_the_driver_takes_over(takeover):
    report = takeover.report
    assert report["collisions"] == 0
    (request,) = switches(takeover, "takeover_request")
    assert "operating-domain exit" in request["reason"] and "level 1" in request["reason"]
    exit_figures = report["odd_exit"]["cav_0"]
    assert exit_figures["takeover_request_s"] == request["time_s"]
    assert exit_figures["exit_reached_s"] is not None                    # driven on through the zone
    assert report["takeover_lead_time_s"] >= 10.0
    assert exit_figures["exit_reached_s"] - request["time_s"] == pytest.approx(report["takeover_lead_time_s"])
    (manual,) = switches(takeover, "manual")
    assert manual["reason"] == "driver took over"
    assert 2.0 <= manual["time_s"] - request["time_s"] <= 4.0 + 0.2     # reaction time, plus one tick of each node
    assert report["modes"]["switches"][-1] == manual                      # nothing after the handover
    t, speed, _ = trace(takeover)
    assert speed[t > manual["time_s"]].min() > 25.0                      # SUMO's driver drives on, no stop


def test_without_a_driver_the_request_escalates_then_stops_before_the_exit(no_driver, selector):
    report = no_driver.report
    assert report["collisions"] == 0
    (request,) = switches(no_driver, "takeover_request")
    assert report["takeover_lead_time_s"] >= 10.0
    levels = [e for e in report["modes"]["takeover_escalations"] if e["cav"] == "cav_0"]
    assert [e["level"] for e in levels] == list(range(1, selector.takeover_levels + 1))
    assert [e["time_s"] - request["time_s"] for e in levels] == pytest.approx(
        [k * selector.takeover_escalation_interval for k in range(selector.takeover_levels)], abs=0.11)
    (stop,) = switches(no_driver, "minimal_risk")
    assert "no takeover" in stop["reason"] and stop["time_s"] > levels[-1]["time_s"]
    assert report["odd_exit"]["cav_0"]["exit_reached_s"] is None
    assert 0.0 < report["odd_exit"]["cav_0"]["min_distance_to_exit_m"] < 10.0   # stopped just before it
    t, speed, accel = trace(no_driver)
    assert speed[-1] < 0.1
    assert accel[t >= stop["time_s"]].min() >= -4.0                      # peak deceleration of the stop


def test_a_driver_falling_asleep_raises_a_request_that_runs_out_into_a_stop_in_lane(asleep, selector):
    report = asleep.report
    assert report["collisions"] == 0
    (request,) = switches(asleep, "takeover_request")
    assert request["reason"] == "driver unavailable, level 1"
    assert 5.0 <= request["time_s"] <= 5.0 + 0.2                          # falls asleep at 5 s
    levels = [e for e in report["modes"]["takeover_escalations"] if e["cav"] == "cav_0"]
    assert [e["level"] for e in levels] == list(range(1, selector.takeover_levels + 1))
    (stop,) = switches(asleep, "minimal_risk")
    assert stop["reason"] == "no takeover: request ran out"
    assert stop["time_s"] - request["time_s"] == pytest.approx(
        selector.takeover_levels * selector.takeover_escalation_interval, abs=0.11)
    t, speed, accel = trace(asleep)
    assert speed[-1] < 0.1
    assert accel[t >= stop["time_s"]].min() >= -4.0
