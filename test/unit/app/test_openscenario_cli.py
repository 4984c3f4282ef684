"""``cav-stack drive --scenario FILE.xosc`` and ``cav-stack eval --scenarios FILE.xosc`` argument and file
errors (one line, exit 2) and the logical-scenario dry run; no simulation is started."""
import xml.etree.ElementTree as ET
from pathlib import Path

from cav_stack.app.cli import main

DATA = Path(__file__).resolve().parents[2] / "integration" / "openscenario" / "data"


def unsupported_copy(tmp_path: Path) -> Path:
    root = ET.parse(DATA / "lateral.xosc").getroot()
    lateral = root.find(".//LateralAction")
    for child in list(lateral):
        lateral.remove(child)
    lateral.append(ET.fromstring("<LateralDistanceAction entityRef='Ego' freespace='true' continuous='false'/>"))
    path = tmp_path / "unsupported.xosc"
    ET.ElementTree(root).write(path)
    (tmp_path / "straight_3lane.xodr").write_text((DATA / "straight_3lane.xodr").read_text())
    return path


def test_drive_refuses_an_unsupported_element_with_one_line(tmp_path, capsys):
    path = unsupported_copy(tmp_path)
    assert main(["drive", "--scenario", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err == ("cav-stack drive: unsupported OpenSCENARIO element <LateralDistanceAction> in LateralAction "
                   f"in {path}")
    assert not (tmp_path / "run" / "report.json").exists()


def test_drive_refuses_bad_parameters(tmp_path, capsys):
    path = str(DATA / "longitudinal.xosc")
    assert main(["drive", "--scenario", path, "--param", "EgoSpeed_mps", "--out", str(tmp_path)]) == 2
    assert "--param expects NAME=VALUE" in capsys.readouterr().err
    assert main(["drive", "--scenario", path, "--param", "Nope=1", "--out", str(tmp_path)]) == 2
    assert "--param Nope: no such parameter" in capsys.readouterr().err
    assert main(["drive", "--scenario", path, "--ego", "Nobody", "--out", str(tmp_path)]) == 2
    assert "--ego Nobody: no such entity" in capsys.readouterr().err
    assert main(["drive", "--scenario", "highway_cut_in", "--param", "A=1", "--out", str(tmp_path)]) == 2
    assert "apply to OpenSCENARIO files" in capsys.readouterr().err
    assert main(["drive", "--scenario", path, "--sim", "carla", "--out", str(tmp_path)]) == 2
    assert "run in SUMO only" in capsys.readouterr().err


def test_eval_dry_run_lists_runs_and_discards(tmp_path, capsys):
    template = tmp_path / "template.xosc"
    template.write_text((DATA / "longitudinal.xosc").read_text())
    (tmp_path / "straight_3lane.xodr").write_text((DATA / "straight_3lane.xodr").read_text())
    variation = tmp_path / "variation.xosc"
    variation.write_text("""<?xml version="1.0"?><OpenSCENARIO>
      <FileHeader revMajor="1" revMinor="3" date="2026-12-07T00:00:00" description="v" author="t"/>
      <ParameterValueDistribution><ScenarioFile filepath="template.xosc"/><Deterministic>
        <DeterministicSingleParameterDistribution parameterName="EgoSpeed_mps">
          <DistributionRange stepWidth="5"><Range lowerLimit="10" upperLimit="25"/></DistributionRange>
        </DeterministicSingleParameterDistribution>
      </Deterministic></ParameterValueDistribution></OpenSCENARIO>""")
    assert main(["eval", "--scenarios", str(variation), "--controllers", "stack", "--dry-run",
                 "--sample", "2", "--seed", "4", "--out", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{variation}: 2 run(s) of 4 valid, 0 discarded by the template's constraints"
    assert len([line for line in out if line.startswith("  run ")]) == 2
    assert not (tmp_path / "eval").exists()
    unsupported = unsupported_copy(tmp_path)
    assert main(["eval", "--scenarios", str(unsupported), "--controllers", "stack", "--dry-run"]) == 2
    assert "unsupported OpenSCENARIO element <LateralDistanceAction>" in capsys.readouterr().err
