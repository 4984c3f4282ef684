"""OpenSCENARIO catalogs: vehicles (cars, motorbikes, buses, vans, trucks), pedestrians, misc objects
and controllers, read with ``scenariogeneration`` (extra ``openscenario``) into :class:`EntityKind`.

Bounding boxes are in the entity frame of OpenSCENARIO: origin at the reference point (the rear
axle for vehicles), x forward, y left, z up [m]; ``center_x`` [m] is the box centre ahead of it.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: OpenSCENARIO category -> SUMO vehicle class (what SUMO, the sensor models and the tracker see).
SUMO_CLASS = {"car": "passenger", "van": "delivery", "truck": "truck", "trailer": "trailer", "semitrailer": "trailer",
              "bus": "bus", "motorbike": "motorcycle", "bicycle": "bicycle", "train": "rail", "tram": "tram",
              "pedestrian": "pedestrian", "wheelchair": "pedestrian", "animal": "pedestrian", "obstacle": "ignoring",
              "pole": "ignoring", "barrier": "ignoring", "building": "ignoring", "vegetation": "ignoring",
              "parkingSpace": "ignoring", "patch": "ignoring", "railing": "ignoring", "roadMark": "ignoring",
              "soundBarrier": "ignoring", "streetLamp": "ignoring", "trafficIsland": "ignoring", "tree": "ignoring",
              "wind": "ignoring", "none": "ignoring"}
_KINDS = {"Vehicle": "vehicle", "Pedestrian": "pedestrian", "MiscObject": "misc_object", "Controller": "controller"}


class CatalogError(LookupError):
    """A catalog or catalog entry that cannot be found or read (message names it)."""


@dataclass(frozen=True)
class EntityKind:
    """A catalog entry: ``kind`` (vehicle, pedestrian, misc_object), ``name``, OpenSCENARIO
    ``category``; box ``length``, ``width``, ``height`` [m] and its centre ``center_x`` [m] ahead of
    the reference point; ``max_speed`` [m/s], ``max_accel``, ``max_decel`` [m/s^2] (vehicles'
    Performance; 0 for objects that do not move by themselves, pedestrians get 3 m/s, 1.5 m/s^2)."""

    kind: str
    name: str
    category: str
    length: float
    width: float
    height: float
    center_x: float
    max_speed: float
    max_accel: float
    max_decel: float

    @property
    def front(self) -> float:
        """Distance [m] from the reference point to the front of the box."""
        return self.center_x + self.length / 2.0

    @property
    def rear(self) -> float:
        """Signed distance [m] from the reference point to the rear of the box (negative: behind it)."""
        return self.center_x - self.length / 2.0

    @property
    def sumo_class(self) -> str:
        """SUMO vehicle class of the entity (``ignoring`` for misc objects: they sit on any lane)."""
        return SUMO_CLASS.get(self.category, "ignoring")


def _require_scenariogeneration() -> Any:
    try:
        from scenariogeneration import xosc
    except ImportError as exc:
        raise CatalogError("reading OpenSCENARIO catalogs needs scenariogeneration: "
                           "pip install 'cav_stack[openscenario]'") from exc
    return xosc


def find_entry(directories: list[Path], catalog_name: str, entry_name: str) -> tuple[str, ET.Element]:
    """(element tag, element) of entry ``entry_name`` of the catalog named ``catalog_name`` in any
    ``.xosc`` file of ``directories``; CatalogError naming what was searched otherwise."""
    catalogs = []
    for directory in directories:
        for path in sorted(directory.glob("*.xosc")) if directory.is_dir() else ():
            catalog = ET.parse(path).getroot().find("Catalog")
            if catalog is None or catalog.get("name") != catalog_name:
                continue
            catalogs.append(path)
            for entry in catalog:
                if entry.get("name") == entry_name:
                    return entry.tag, entry
    if not catalogs:
        raise CatalogError(f"no catalog named '{catalog_name}' in {', '.join(map(str, directories)) or 'no directory'}")
    raise CatalogError(f"catalog '{catalog_name}' ({catalogs[0]}) has no entry '{entry_name}'")


def entity_kind(tag: str, element: ET.Element) -> EntityKind:
    """The :class:`EntityKind` of a Vehicle, Pedestrian or MiscObject element (typed by scenariogeneration)."""
    xosc = _require_scenariogeneration()
    if tag == "Vehicle":
        vehicle = xosc.Vehicle.parse(element)
        box, centre = vehicle.boundingbox.boundingbox, vehicle.boundingbox.center
        dynamics = vehicle.dynamics
        return EntityKind("vehicle", vehicle.name, _category(vehicle.vehicle_type), box.length, box.width, box.height,
                          centre.x, float(dynamics.max_speed), float(dynamics.max_acceleration),
                          float(dynamics.max_deceleration))
    if tag in ("Pedestrian", "MiscObject"):
        parsed = (xosc.Pedestrian if tag == "Pedestrian" else xosc.MiscObject).parse(element)
        box, centre = parsed.boundingbox.boundingbox, parsed.boundingbox.center
        walking = tag == "Pedestrian"
        return EntityKind(_KINDS[tag], parsed.name, _category(parsed.category), box.length, box.width, box.height,
                          centre.x, 3.0 if walking else 0.0, 1.5 if walking else 0.0, 1.5 if walking else 0.0)
    raise CatalogError(f"a {tag} is not an entity (Vehicle, Pedestrian or MiscObject)")


def _category(value: Any) -> str:
    """Text of a scenariogeneration enumeration member (or of a plain string)."""
    return str(getattr(value, "name", value))
