"""ROS-style QoS and names mapped to DDS the way rmw_cyclonedds_cpp does."""
from __future__ import annotations

import pytest

from cav_stack.runtime.dds_qos import dds_qos, dds_topic_name
from cav_stack.runtime.node import LATCHED_QOS, SENSOR_QOS, QoS

from cyclonedds.qos import Policy  # noqa: E402  (conftest skipped the module without cyclonedds)


def policies(qos) -> dict:
    """The policies of a cyclonedds Qos by scope name."""
    return {p.__scope__: p for p in qos}


def test_topic_names_get_the_rt_prefix():
    assert dds_topic_name("/cav_0/truth/ego_state") == "rt/cav_0/truth/ego_state"
    assert dds_topic_name("/clock") == "rt/clock"
    for bad in ("cav_0/x", "/cav_0/", "/a//b"):
        with pytest.raises(ValueError, match="fully resolved"):
            dds_topic_name(bad)


def test_reliable_volatile_default():
    qos = policies(dds_qos(QoS(), writer=True))
    assert qos["History"] == Policy.History.KeepLast(10)
    assert isinstance(qos["Reliability"], Policy.Reliability.Reliable)
    assert qos["Durability"] == Policy.Durability.Volatile
    assert qos["DataRepresentation"] == Policy.DataRepresentation(use_cdrv0_representation=True)
    assert "Deadline" not in qos and "Liveliness" not in qos


def test_sensor_and_latched_profiles():
    sensor = policies(dds_qos(SENSOR_QOS, writer=False))
    assert sensor["Reliability"] == Policy.Reliability.BestEffort and sensor["History"] == Policy.History.KeepLast(5)
    latched = policies(dds_qos(LATCHED_QOS, writer=False))
    assert latched["Durability"] == Policy.Durability.TransientLocal
    assert latched["History"] == Policy.History.KeepLast(1)


def test_deadline_maps_to_deadline_and_writer_liveliness():
    writer = policies(dds_qos(QoS(deadline=0.25), writer=True))
    reader = policies(dds_qos(QoS(deadline=0.25), writer=False))
    assert writer["Deadline"] == Policy.Deadline(250_000_000) == reader["Deadline"]
    assert writer["Liveliness"] == Policy.Liveliness.Automatic(250_000_000)
    assert "Liveliness" not in reader           # ROS default (automatic, infinite): matches every writer


def test_keep_all_replaces_the_depth():
    assert policies(dds_qos(QoS(depth=3), writer=False, keep_all=True))["History"] == Policy.History.KeepAll


def test_invalid_qos_is_refused():
    with pytest.raises(ValueError, match="depth"):
        dds_qos(QoS(depth=0), writer=True)
    with pytest.raises(ValueError, match="deadline"):
        dds_qos(QoS(deadline=-1.0), writer=False)
