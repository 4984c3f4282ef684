"""The v2x-pdr experiment: CSV output, loss accounting, and simulation against the analytical models."""
from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest

from cav_stack.core.share import share_path
from cav_stack.app import v2x_pdr_command
from cav_stack.app.exit_codes import ExitCode
from cav_stack.eval.v2x_pdr import analytical_pdr, configure, max_deviation, simulate_pdr
from cav_stack.v2x.radio.outcomes import LOSS_TYPES
from cav_stack.v2x.radio.profile import load_radio_profile

TOLERANCE = 0.05


def parse(argv):
    parser = argparse.ArgumentParser()
    v2x_pdr_command.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_writes_csv_whose_losses_add_up(tmp_path, capsys):
    out = tmp_path / "pdr.csv"
    args = parse(["--tech", "dsrc", "--density", "0.06", "--duration-s", "1.0", "--warmup-s", "0.5",
                  "--seed", "3", "--csv", str(out)])
    assert v2x_pdr_command.run(args) == ExitCode.OK
    assert "max |PDR sim - analytical|" in capsys.readouterr().out
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["distance_m"]) for r in rows] == list(np.arange(0.0, 501.0, 25.0))
    losses = ["sensing", "receiver_busy", "propagation", "collision"]
    assert list(rows[0])[:6] == ["distance_m", "pdr"] + [f"loss_{n}" for n in losses]
    assert rows[0]["pdr"] == "" and rows[0]["samples"] == "0"    # no pair closer than 16.7 m
    for row in rows[1:]:
        assert int(row["samples"]) > 0
        assert float(row["pdr"]) + sum(float(row[f"loss_{n}"]) for n in losses) == pytest.approx(1.0, abs=1e-4)
        assert float(row["analytical_pdr"]) + sum(float(row[f"analytical_loss_{n}"]) for n in losses) \
            == pytest.approx(1.0, abs=1e-4)


def test_profile_of_the_wrong_technology_is_rejected(tmp_path, capsys):
    args = parse(["--tech", "cv2x", "--density", "0.1", "--csv", str(tmp_path / "x.csv"),
                  "--profile", str(share_path("v2x", "radio_dsrc.yaml"))])
    assert v2x_pdr_command.run(args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "not 'cv2x'" in err and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


def test_options_of_the_other_technology_are_rejected(tmp_path, capsys):
    for argv in (["--tech", "dsrc", "--subchannels", "4"], ["--tech", "cv2x", "--data-rate-mbps", "6"],
                 ["--tech", "cv2x", "--subchannels", "3"]):
        args = parse(argv + ["--density", "0.1", "--csv", str(tmp_path / "x.csv")])
        assert v2x_pdr_command.run(args) == ExitCode.USAGE
        err = capsys.readouterr().err
        assert ("only" in err or "mcs" in err) and err.count("\n") == 1


def validation_deviation(tech, density, power, subchannels, data_rate, duration, seed):
    profile = configure(load_radio_profile(share_path("v2x", f"radio_{tech}.yaml")),
                        power, subchannels, data_rate, 10.0)
    sim = simulate_pdr(profile, density, 10.0, 190, duration, 2.0, np.random.default_rng(seed))
    ref = analytical_pdr(profile, density, 10.0, 190, sim.distance)
    for code in LOSS_TYPES[tech]:
        assert np.nanmax(np.abs(sim.losses[code] - ref.losses[code])) < TOLERANCE
    return max_deviation(sim, ref)


@pytest.mark.parametrize("tech, density, power, sub, rate", [
    ("cv2x", 0.1, 20.0, 4, None),
    ("dsrc", 0.06, 23.0, None, 6e6),
])
def test_small_scale_simulation_matches_analytical_model(tech, density, power, sub, rate):
    assert validation_deviation(tech, density, power, sub, rate, duration=4.0, seed=11) < TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("tech, density, power, sub, rate", [
    ("cv2x", 0.1, 20.0, 4, None), ("cv2x", 0.1, 23.0, 4, None), ("cv2x", 0.2, 20.0, 4, None),
    ("cv2x", 0.1, 20.0, 2, None),
    ("dsrc", 0.06, 23.0, None, 6e6), ("dsrc", 0.12, 23.0, None, 6e6), ("dsrc", 0.06, 23.0, None, 18e6),
    ("dsrc", 0.06, 23.0, None, 27e6),
])
def test_validation_sweep(tech, density, power, sub, rate):
    """Every configuration of shared/v2x-validation.md within 0.05 at every distance."""
    assert validation_deviation(tech, density, power, sub, rate, duration=20.0, seed=21) < TOLERANCE
