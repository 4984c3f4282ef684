"""Recording a closed-loop run to MCAP and replaying the controller on it."""
from __future__ import annotations

import argparse

import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from cav_stack.app.exit_codes import ExitCode
from cav_stack.app import replay as replay_cli
from cav_stack.app.replay import read_recording, replay


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, record_run):
    directory = tmp_path_factory.mktemp("recording")
    path = directory / "run.mcap"
    recorder, executor = record_run("hidden_brake", "idm_baseline", 6.0, path, directory / "cache")
    return path, recorder, executor


def test_every_recorded_channel_decodes(recorded):
    path, recorder, executor = recorded
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        types = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
        count = sum(1 for _ in reader.iter_decoded_messages())
    assert count == recorder.message_count == sum(executor.topic_counts.values()) + executor.topic_counts[
        "/cav_0/truth/objects"]                                    # + the Detection3DArray view
    assert types["/cav_0/truth/ego_state"] == "nav_msgs/msg/Odometry"
    assert types["/cav_0/control/command"] == "ackermann_msgs/msg/AckermannDriveStamped"
    assert types["/cav_0/truth/objects/detections"] == "vision_msgs/msg/Detection3DArray"


def test_replaying_the_controller_reproduces_its_commands(recorded):
    path, _, executor = recorded
    (command,) = replay(read_recording(path))
    assert command.topic == "/cav_0/control/command"
    assert command.recorded == command.replayed == executor.topic_counts["/cav_0/control/command"] > 100
    assert command.worst < 1e-6                                 # float32 rounding of AckermannDrive only
    assert not command.mismatched_fields


def test_replay_command_exits_0_on_a_faithful_replay_and_2_on_a_bad_file(recorded, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    replay_cli.add_arguments(parser)
    assert replay_cli.run(parser.parse_args([str(recorded[0])])) == ExitCode.OK
    assert "replay matches the recording" in capsys.readouterr().out
    assert replay_cli.run(parser.parse_args([str(tmp_path / "none.mcap")])) == ExitCode.USAGE
    assert replay_cli.run(parser.parse_args([str(recorded[0]), "--controller", "nope"])) == ExitCode.USAGE
