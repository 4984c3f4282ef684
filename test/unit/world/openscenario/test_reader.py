"""Reading OpenSCENARIO files: the shared R157 ALKS templates (../shared/scenarios/alks), catalogs of
every entity kind, and unsupported elements refused with the element and the file named."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cav_stack.world.openscenario.reader import OpenScenarioError, UnsupportedElementError, read_scenario
from cav_stack.world.openscenario.storyboard import (LaneChangeAction, LanePosition, LongitudinalDistanceAction,
                                                     RelativeDistanceCondition, RelativeLanePosition, SpeedAction,
                                                     StoryboardElementStateCondition, TeleportAction)

OWN = Path(__file__).resolve().parents[4] / "test" / "integration" / "openscenario" / "data"



@pytest.fixture
def templates(alks: Path) -> Path:
    return alks / "concrete_scenarios"


def test_the_five_shared_templates_read(templates):
    paths = sorted(templates.glob("*_template.xosc"))
    assert len(paths) == 5
    for path in paths:
        scenario = read_scenario(path)
        assert [e.name for e in scenario.entities if e.controller == "ALKSController"] == ["Ego"]
        assert Path(scenario.road_network).suffix == ".xodr"


def test_cut_in_template_resolves_parameters_and_expressions(templates):
    scenario = read_scenario(templates / "alks_scenario_4_4_1_cut_in_no_collision_template.xosc",
                             {"CutInVehicle_Model": "motorbike", "CutInVehicle_HeadwayDistanceTrigger_dx0_m": "40"})
    init = dict((name, []) for name, _ in scenario.storyboard.init)
    for name, action in scenario.storyboard.init:
        init[name].append(action)
    teleport = init["CutInVehicle"][0]
    assert isinstance(teleport, TeleportAction) and isinstance(teleport.position, RelativeLanePosition)
    assert teleport.position.ds == pytest.approx(40.0 + 10.0 * 20.0 / 3.6)
    assert teleport.position.d_lane == -1
    relative = init["CutInVehicle"][1]
    assert isinstance(relative, SpeedAction) and relative.entity == "Ego" and relative.value == pytest.approx(-20 / 3.6)
    assert scenario.entity("CutInVehicle").kind.category == "motorbike"
    event = scenario.storyboard.stories[1].acts[0].groups[0].maneuvers[0].events[0]
    change = event.actions[0].action
    assert isinstance(change, LaneChangeAction) and change.dynamics.dimension == "rate" and change.entity == "Ego"
    condition = event.start_trigger.groups[0][0]
    assert isinstance(condition.kind, RelativeDistanceCondition) and condition.kind.value == 40.0
    stop = scenario.storyboard.stop_trigger.groups[0][0]
    assert isinstance(stop.kind, StoryboardElementStateCondition) and stop.delay == 10.0


def test_lead_vehicle_template_has_distance_action_and_lane_position(templates):
    scenario = read_scenario(templates / "alks_scenario_4_3_1_follow_lead_vehicle_comfortable_template.xosc",
                             {"Ego_InitPosition_LaneId": "-3"})
    actions = [a for name, a in scenario.storyboard.init if name == "LeadVehicle"]
    assert any(isinstance(a, LongitudinalDistanceAction) and a.time_gap == 1.6 and a.freespace for a in actions)
    ego = next(a for name, a in scenario.storyboard.init if name == "Ego")
    assert isinstance(ego.position, LanePosition) and ego.position.lane_id == -3


@pytest.mark.parametrize("catalog, model, kind, category, length", [
    ("vehicle_catalog", "car", "vehicle", "car", 5.0), ("vehicle_catalog", "truck", "vehicle", "truck", 18.75),
    ("vehicle_catalog", "bus", "vehicle", "bus", 13.5), ("vehicle_catalog", "van", "vehicle", "truck", 4.5),
    ("vehicle_catalog", "motorbike", "vehicle", "motorbike", 2.2),
    ("pedestrian_catalog", "pedestrian", "pedestrian", "pedestrian", 0.3),
    ("misc_object_catalog", "obstacle", "misc_object", "obstacle", 1.0),
])
def test_catalog_entries_of_every_kind(templates, catalog, model, kind, category, length):
    scenario = read_scenario(templates / "alks_scenario_4_2_1_fully_blocking_target_template.xosc",
                             {"TargetBlocking_Catalog": catalog, "TargetBlocking_Model": model})
    target = scenario.entity("TargetBlocking").kind
    assert (target.kind, target.category, target.length) == (kind, category, length)


def test_constraint_violation_is_an_error_naming_it(templates):
    with pytest.raises(OpenScenarioError, match="Ego_InitSpeed_Ve0_kph=80.0 violates"):
        read_scenario(templates / "alks_scenario_4_1_1_free_driving_template.xosc", {"Ego_InitSpeed_Ve0_kph": "80"})


def test_unknown_catalog_entry_is_named(templates):
    with pytest.raises(OpenScenarioError, match="has no entry 'tractor'"):
        read_scenario(templates / "alks_scenario_4_4_1_cut_in_no_collision_template.xosc",
                      {"CutInVehicle_Model": "tractor"})


@pytest.mark.parametrize("parent, child", [
    (".//LateralAction", "<LateralDistanceAction entityRef='Ego' freespace='true' continuous='false'/>"),
    (".//ByValueCondition", "<TrafficSignalCondition name='x' state='y'/>"),
    (".//Vertex/Position", "<GeoPosition latitude='1' longitude='2'/>"),
    (".//RoutingAction", "<AcquirePositionAction/>"),
    (".//Entities/ScenarioObject", "<ExternalObjectReference name='x'/>"),
])
def test_unsupported_elements_are_named_with_the_file(tmp_path, parent, child):
    root = ET.parse(OWN / "lateral.xosc").getroot()
    element = root.find(parent)
    for old in list(element):
        element.remove(old)
    element.append(ET.fromstring(child))
    path = tmp_path / "bad.xosc"
    ET.ElementTree(root).write(path)
    (tmp_path / "straight_3lane.xodr").write_text((OWN / "straight_3lane.xodr").read_text())
    tag = ET.fromstring(child).tag
    with pytest.raises(UnsupportedElementError) as error:
        read_scenario(path)
    assert error.value.element == tag and error.value.path == path
    assert str(error.value).startswith(f"unsupported OpenSCENARIO element <{tag}>")
