"""Which Cyclone DDS configuration a launched run gets: a vehicle's file, the environment's, or ROS 2's defaults."""
import xml.etree.ElementTree as ET

import pytest

from cav_stack.app.dds_launch import dds_environment
from cav_stack.runtime.dds_config import (
    FASTDDS_VENDOR_ID, fastdds_interop_config, fastdds_loopback_profile, loopback_config, loopback_multicast_config,
    ros2_default_config, with_fastdds_interop,
)


def test_default_follows_the_ros2_discovery_range():
    assert ros2_default_config({}) is None                                  # Cyclone's defaults = ROS 2's
    assert ros2_default_config({"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}) is None
    localhost = ros2_default_config({"ROS_AUTOMATIC_DISCOVERY_RANGE": "localhost"})
    assert localhost == loopback_config(max_participants=32)
    with pytest.raises(ValueError, match="ROS_AUTOMATIC_DISCOVERY_RANGE=NEARBY"):
        ros2_default_config({"ROS_AUTOMATIC_DISCOVERY_RANGE": "NEARBY"})


def test_a_vehicle_file_wins_over_the_environment(tmp_path):
    own = tmp_path / "vehicle.xml"
    own.write_text(loopback_config())
    env = dds_environment({"CYCLONEDDS_URI": "<CycloneDDS/>"}, str(own))
    assert env["CYCLONEDDS_URI"] == own.resolve().as_uri()
    assert dds_environment({"CYCLONEDDS_URI": "<CycloneDDS/>"})["CYCLONEDDS_URI"] == "<CycloneDDS/>"
    assert "CYCLONEDDS_URI" not in dds_environment({})
    assert dds_environment({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"})["CYCLONEDDS_URI"] == \
        loopback_config(max_participants=32)
    with pytest.raises(ValueError, match="does not exist"):
        dds_environment({}, str(tmp_path / "missing.xml"))


def test_loopback_configurations_name_only_the_loopback_interface():
    multicast = ET.fromstring(loopback_multicast_config())
    assert [i.get("address") for i in multicast.iter("NetworkInterface")] == ["127.0.0.1"]
    assert multicast.find(".//AllowMulticast").text == "spdp"
    profile = ET.fromstring(fastdds_loopback_profile())
    ns = {"f": "http://www.eprosima.com"}
    assert [i.get("name") for i in profile.iterfind(".//f:interface", ns)] == ["127.0.0.1"]
    assert profile.find(".//f:useBuiltinTransports", ns).text == "false"


def test_fastdds_interop_comes_first_so_a_vehicle_file_still_wins():
    interop = fastdds_interop_config()
    assert ET.fromstring(interop).find(".//Compatibility/IgnoreTypeInformation").text == FASTDDS_VENDOR_ID == "1.15"
    assert with_fastdds_interop(None) == with_fastdds_interop("") == interop      # Cyclone's defaults otherwise
    own = "file:///etc/vehicle.xml"
    assert with_fastdds_interop(own) == f"{interop},{own}"                      # later sources override earlier
    assert with_fastdds_interop(with_fastdds_interop(own)) == f"{interop},{own}"  # a child of a launcher: once
