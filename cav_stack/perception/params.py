"""Parameters of the perception and localisation cores, read from ``sensors/perception.yaml``.

Sections (ROS 2 layout): ``perception_node`` -> :class:`PerceptionParams`,
``localization_node`` -> :class:`LocalizationParams`. SI units; ``_deg``/``_ms`` keys converted.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cav_stack.core.params import load_node_params, validate_positive

PERCEPTION_NODE_NAME = "perception_node"
LOCALIZATION_NODE_NAME = "localization_node"
LIDAR_BACKENDS = ("numpy", "torch")


@dataclass(frozen=True)
class SizePrior:
    """Typical box size of an object class: length, width, height [m]."""

    length: float
    width: float
    height: float

    def __post_init__(self) -> None:
        validate_positive(length=self.length, width=self.width, height=self.height)


@dataclass(frozen=True)
class LidarProcessingParams:
    """LiDAR ground removal, clustering and box fitting.

    backend: ``numpy`` or ``torch`` (the ``gpu`` extra); max_range: horizontal crop [m];
    ground_candidate_height: points below this height in ``base_link`` [m] seed the ground-plane
    fit; ground_inlier_band: plane-fit residual kept on refinement [m]; ground_clearance: points
    this far above the plane are obstacles [m]; max_height: higher points are dropped [m];
    cell_size: grid cell for clustering [m]; cluster_distance: cells closer than this across
    the line of sight join a cluster [m]; along the line of sight the limit grows as
    radial_distance_per_m [m/m] x range up to max_radial_distance [m]; min_cells: smallest cluster
    [cells]; max_extent: largest cluster side [m];
    fit_angle_step: rectangle-fit orientation search step [rad]; long_side_min: a visible side
    longer than this [m] is taken as the length (else the axis nearest the ego heading is);
    tall_object_height: clusters reaching this height in ``base_link`` are trucks [m];
    position_sigma [m] + position_sigma_per_m [m/m] x range: centre noise; extension_sigma: extra
    centre noise along an extent completed from the prior [m]; yaw_sigma_side / yaw_sigma_end:
    heading noise when a long side / only an end is seen [rad]; initiates_tracks: bool.
    """

    backend: str
    max_range: float
    ground_candidate_height: float
    ground_inlier_band: float
    ground_clearance: float
    max_height: float
    cell_size: float
    cluster_distance: float
    radial_distance_per_m: float
    max_radial_distance: float
    min_cells: int
    max_extent: float
    fit_angle_step: float
    long_side_min: float
    tall_object_height: float
    position_sigma: float
    position_sigma_per_m: float
    extension_sigma: float
    yaw_sigma_side: float
    yaw_sigma_end: float
    initiates_tracks: bool

    def __post_init__(self) -> None:
        if self.backend not in LIDAR_BACKENDS:
            raise ValueError(f"backend must be one of {LIDAR_BACKENDS}, got {self.backend!r}")
        validate_positive(max_range=self.max_range, ground_inlier_band=self.ground_inlier_band,
                          ground_clearance=self.ground_clearance, cell_size=self.cell_size,
                          cluster_distance=self.cluster_distance, max_radial_distance=self.max_radial_distance,
                          min_cells=self.min_cells,
                          max_extent=self.max_extent, fit_angle_step=self.fit_angle_step,
                          position_sigma=self.position_sigma, yaw_sigma_side=self.yaw_sigma_side,
                          yaw_sigma_end=self.yaw_sigma_end)


@dataclass(frozen=True)
class RadarProcessingParams:
    """Radar clustering. cluster_across, cluster_along: largest gap across / along the line of
    sight within a cluster [m] (reflections spread over a car's face and side);
    cluster_speed_difference: largest ground-radial-speed difference within a cluster [m/s];
    cluster_azimuth_sigmas: the across limit grows by this many standard deviations of two
    reflections' across-range difference from the radar's azimuth noise (sqrt(2) range sigma) [-];
    min_rcs_dbsm: weaker detections are dropped [dBsm];
    centre_offset: distance from the reflecting surface to the object centre along the line of
    sight [m], with 1-sigma centre_offset_sigma [m]; initiates_tracks: bool."""

    cluster_across: float
    cluster_along: float
    cluster_speed_difference: float
    cluster_azimuth_sigmas: float
    min_rcs_dbsm: float
    centre_offset: float
    centre_offset_sigma: float
    initiates_tracks: bool

    def __post_init__(self) -> None:
        validate_positive(cluster_across=self.cluster_across, cluster_along=self.cluster_along,
                          cluster_speed_difference=self.cluster_speed_difference,
                          centre_offset_sigma=self.centre_offset_sigma)
        if self.cluster_azimuth_sigmas < 0.0:
            raise ValueError(f"cluster_azimuth_sigmas must be >= 0, got {self.cluster_azimuth_sigmas}")


@dataclass(frozen=True)
class CameraProcessingParams:
    """Camera bearing and flat-ground range. min_score: weaker detections are dropped [0..1];
    max_range: farther ground-plane ranges are dropped [m]; range_sigma_floor [m]: smallest range
    noise; initiates_tracks: bool."""

    min_score: float
    max_range: float
    range_sigma_floor: float
    initiates_tracks: bool

    def __post_init__(self) -> None:
        validate_positive(max_range=self.max_range, range_sigma_floor=self.range_sigma_floor)


@dataclass(frozen=True)
class V2xFusionParams:
    """How V2X self-reports are fused. yaw_sigma [rad], speed_sigma [m/s], yaw_rate_sigma [rad/s],
    accel_sigma [m/s^2]: 1-sigma noise assumed for the reported values (the position sigma comes
    with each report); rebind_chi2: a bound station whose report falls outside this Mahalanobis
    gate is unbound from its track; initiates_tracks: bool."""

    yaw_sigma: float
    speed_sigma: float
    yaw_rate_sigma: float
    accel_sigma: float
    rebind_chi2: float
    initiates_tracks: bool

    def __post_init__(self) -> None:
        validate_positive(yaw_sigma=self.yaw_sigma, speed_sigma=self.speed_sigma,
                          yaw_rate_sigma=self.yaw_rate_sigma, accel_sigma=self.accel_sigma,
                          rebind_chi2=self.rebind_chi2)


@dataclass(frozen=True)
class VruTrackingParams:
    """How tracks of vulnerable road users (pedestrians, cyclists) differ from vehicle tracks.

    classes: object class names tracked this way (``pedestrian``, ``bicycle``); a track joins them
    once its class votes say so, and then its motion restarts without the vehicle prior (moving
    like the ego): at rest, heading unknown, box of the class prior; every ``heading_baseline`` [s]
    its displacement is tested: if significant (Mahalanobis distance squared of its mean velocity
    from zero above ``moving_chi2``) heading and speed are set from it (a walk in any direction in
    ``map``), else it stands; speed_sigma [m/s]: 1-sigma of the speed while at rest; accel_sigma
    [m/s^2]: 1-sigma of the acceleration when the motion restarts; jerk_psd
    [m^2/s^5], yaw_accel_psd [rad^2/s^3], position_psd [m^2/s]: their process noise (people turn
    and step sideways where cars cannot)."""

    classes: tuple[str, ...]
    heading_baseline: float
    moving_chi2: float
    speed_sigma: float
    accel_sigma: float
    jerk_psd: float
    yaw_accel_psd: float
    position_psd: float

    def __post_init__(self) -> None:
        validate_positive(heading_baseline=self.heading_baseline, moving_chi2=self.moving_chi2,
                          speed_sigma=self.speed_sigma, accel_sigma=self.accel_sigma, jerk_psd=self.jerk_psd,
                          yaw_accel_psd=self.yaw_accel_psd, position_psd=self.position_psd)


@dataclass(frozen=True)
class TrackerParams:
    """Multi-object tracker (EKF on CTRA, GNN association, M-of-N confirmation).

    jerk_psd [m^2/s^5], yaw_accel_psd [rad^2/s^3], position_psd [m^2/s]: process-noise spectral
    densities; gate_chi2: Mahalanobis gate on position; birth_exclusion_chi2: an unmatched
    detection this close (Mahalanobis, position) to a track starts no track; confirm_hits of confirm_window
    opportunities confirm a track (M of N); max_coast: a confirmed track without update for this
    long is deleted [s]; max_position_sigma: a track whose position 1-sigma exceeds this is
    deleted [m]; history_duration: how far back out-of-sequence measurements are re-filtered [s];
    merge_distance: tracks closer than this are merged [m]; max_yaw_rate: estimated yaw rates are
    clipped to this magnitude [rad/s] (keeps coasting tracks from spiralling); init_yaw_sigma [rad], init_speed_sigma
    [m/s], init_yaw_rate_sigma [rad/s], init_accel_sigma [m/s^2]: initial uncertainty of what a
    first detection does not measure; size_smoothing: weight of a new full extent measurement [0..1];
    size_priors: per object class name (``car``, ``truck``...; ``unknown`` required); vru: tracks of
    pedestrians and cyclists (:class:`VruTrackingParams`; each of its classes needs a size prior).
    """

    jerk_psd: float
    yaw_accel_psd: float
    position_psd: float
    gate_chi2: float
    birth_exclusion_chi2: float
    confirm_hits: int
    confirm_window: int
    max_coast: float
    max_position_sigma: float
    history_duration: float
    merge_distance: float
    max_yaw_rate: float
    init_yaw_sigma: float
    init_speed_sigma: float
    init_yaw_rate_sigma: float
    init_accel_sigma: float
    size_smoothing: float
    size_priors: dict[str, SizePrior]
    vru: VruTrackingParams

    def __post_init__(self) -> None:
        validate_positive(jerk_psd=self.jerk_psd, yaw_accel_psd=self.yaw_accel_psd, position_psd=self.position_psd,
                          gate_chi2=self.gate_chi2, confirm_hits=self.confirm_hits, max_yaw_rate=self.max_yaw_rate,
                          max_coast=self.max_coast, max_position_sigma=self.max_position_sigma,
                          history_duration=self.history_duration, init_yaw_sigma=self.init_yaw_sigma,
                          init_speed_sigma=self.init_speed_sigma, init_yaw_rate_sigma=self.init_yaw_rate_sigma,
                          init_accel_sigma=self.init_accel_sigma)
        if not self.confirm_hits <= self.confirm_window <= 62:
            raise ValueError("need confirm_hits <= confirm_window <= 62")
        if self.birth_exclusion_chi2 < self.gate_chi2:
            raise ValueError("birth_exclusion_chi2 must be at least gate_chi2")
        if "unknown" not in self.size_priors:
            raise ValueError("size_priors needs an 'unknown' entry")
        missing = [c for c in self.vru.classes if c not in self.size_priors]
        if missing:
            raise ValueError(f"vru.classes need size_priors: missing {missing}")


@dataclass(frozen=True)
class PerceptionParams:
    """Everything the perception core needs besides the sensor rig.

    ego_history_duration: how long ego states are kept to place late sensor messages [s]."""

    ego_history_duration: float
    lidar: LidarProcessingParams
    radar: RadarProcessingParams
    camera: CameraProcessingParams
    v2x: V2xFusionParams
    tracker: TrackerParams

    def __post_init__(self) -> None:
        validate_positive(ego_history_duration=self.ego_history_duration)


@dataclass(frozen=True)
class LocalizationParams:
    """Ego localisation EKF on (x, y, yaw, speed) driven by the IMU.

    accel_noise_sigma [m/s^2], yaw_rate_noise_sigma [rad/s]: IMU input noise (1-sigma);
    yaw_rate_bias_psd [rad^2/s^3]: random walk of the estimated gyro bias;
    odometry_sigma [m/s]: wheel-speed noise; init_min_distance: GNSS travel needed to initialise
    the heading [m]; init_speed_min: slowest odometry speed at which to initialise [m/s].
    """

    accel_noise_sigma: float
    yaw_rate_noise_sigma: float
    yaw_rate_bias_psd: float
    odometry_sigma: float
    init_min_distance: float
    init_speed_min: float

    def __post_init__(self) -> None:
        validate_positive(accel_noise_sigma=self.accel_noise_sigma, yaw_rate_noise_sigma=self.yaw_rate_noise_sigma,
                          yaw_rate_bias_psd=self.yaw_rate_bias_psd, odometry_sigma=self.odometry_sigma,
                          init_min_distance=self.init_min_distance)


def load_perception_params(path: str | Path) -> PerceptionParams:
    """Load ``perception_node`` parameters; raises ParamsError naming file and key."""
    return load_node_params(path, PERCEPTION_NODE_NAME, PerceptionParams)


def load_localization_params(path: str | Path) -> LocalizationParams:
    """Load ``localization_node`` parameters; raises ParamsError naming file and key."""
    return load_node_params(path, LOCALIZATION_NODE_NAME, LocalizationParams)
