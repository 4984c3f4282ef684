"""All sensor models of a rig, by name, for a simulation bridge to fire at their rates."""
from __future__ import annotations

from cav_stack.world.sensor_rig import SensorRig
from cav_stack.sim.sensors.camera import CameraModel
from cav_stack.sim.sensors.inertial import GnssModel, ImuModel, WheelOdometryModel
from cav_stack.sim.sensors.lidar import LidarModel
from cav_stack.sim.sensors.radar import RadarModel

SensorModel = LidarModel | RadarModel | CameraModel | GnssModel | ImuModel | WheelOdometryModel

#: Sensor kinds of a rig and the names their models are listed under in :func:`build_sensor_models`.
KINDS = ("lidar", "radar", "camera", "gnss", "imu", "wheel_odometry")


def build_sensor_models(rig: SensorRig, kinds: tuple[str, ...] = KINDS) -> dict[str, SensorModel]:
    """Models of the rig's sensors of the given kinds, keyed by frame_id for LiDARs, radars and
    cameras and by kind for ``gnss``, ``imu`` and ``wheel_odometry``. Raises ValueError for an
    unknown kind."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown sensor kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    models: dict[str, SensorModel] = {}
    if "lidar" in kinds:
        models.update({p.frame_id: LidarModel(p) for p in rig.lidars})
    if "radar" in kinds:
        models.update({p.frame_id: RadarModel(p) for p in rig.radars})
    if "camera" in kinds:
        models.update({p.frame_id: CameraModel(p) for p in rig.cameras})
    if "gnss" in kinds:
        models["gnss"] = GnssModel(rig.gnss)
    if "imu" in kinds:
        models["imu"] = ImuModel(rig.imu)
    if "wheel_odometry" in kinds:
        models["wheel_odometry"] = WheelOdometryModel(rig.wheel_odometry)
    return models
