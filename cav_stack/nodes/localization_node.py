"""Localization node: the ego state from GNSS, IMU and wheel odometry (EKF), with the steering
angle and acceleration the vehicle itself reports.

Inputs: ``input/gnss`` (GnssFix, map), ``input/imu`` (ImuSample), ``input/odometry``
(WheelOdometry), ``input/vehicle_status`` (VehicleStatus). Output: ``output/ego_state`` (EgoState,
map, rear axle, with covariance), published on every IMU sample once the filter has a heading.
"""
from __future__ import annotations

from dataclasses import replace

from cav_stack.core.messages import EgoState, GnssFix, ImuSample, VehicleStatus, WheelOdometry
from cav_stack.perception.localization import EgoLocalizer
from cav_stack.perception.params import LocalizationParams
from cav_stack.runtime.node import SENSOR_QOS, Node, NodeContext


class LocalizationNode(Node):
    node_name = "localization_node"
    params_type = LocalizationParams

    def __init__(self, context: NodeContext):
        super().__init__(context)
        self._localizer = EgoLocalizer(self.params)
        self._status: VehicleStatus | None = None
        self._ego_pub = self.create_publisher(EgoState, "output/ego_state")
        self.create_subscription(GnssFix, "input/gnss", self._localizer.on_gnss, SENSOR_QOS)
        self.create_subscription(WheelOdometry, "input/odometry", self._localizer.on_odometry, SENSOR_QOS)
        self.create_subscription(ImuSample, "input/imu", self._on_imu, SENSOR_QOS)
        self.create_subscription(VehicleStatus, "input/vehicle_status", self._on_status)

    def _on_status(self, status: VehicleStatus) -> None:
        self._status = status

    def _on_imu(self, sample: ImuSample) -> None:
        self._localizer.on_imu(sample)
        estimate = self._localizer.estimate(sample.header.stamp)
        if estimate is None:
            return
        if self._status is not None:
            estimate = replace(estimate, accel=self._status.accel, steer=self._status.steer)
        self._ego_pub.publish(estimate)
