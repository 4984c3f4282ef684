"""Building SUMO ``.net.xml`` networks from plain-XML or OpenDRIVE sources, with a content-hash cache.

A network source directory holds SUMO plain XML files, recognised by suffix:
``*.nod.xml`` (nodes, required), ``*.edg.xml`` (edges, required), ``*.typ.xml`` (edge types),
``*.con.xml`` (connections) and ``*.tll.xml`` (traffic-light programs); or one OpenDRIVE road network
``*.xodr`` (then nodes and edges come from it; lanes carry their OpenDRIVE ``origId``
``<road>_<lane>`` as a parameter). Coordinates in these files are ``map`` coordinates [m]
(x east, y north) and are kept as they are (no offset normalisation).

:func:`build_network` runs the ``netconvert`` of the installed SUMO (the ``eclipse-sumo`` wheel,
``$SUMO_HOME`` or ``PATH``) into a cache directory; the output name carries a hash of the sources, the
netconvert version and the options, so an unchanged network is never rebuilt.
"""
from __future__ import annotations

import functools
import hashlib
import shutil
import os
import subprocess
import tempfile
from pathlib import Path

#: Plain-XML suffix -> netconvert option that reads it.
SOURCE_OPTIONS: dict[str, str] = {
    ".nod.xml": "--node-files",
    ".edg.xml": "--edge-files",
    ".typ.xml": "--type-files",
    ".con.xml": "--connection-files",
    ".tll.xml": "--tllogic-files",
    ".xodr": "--opendrive-files",
}
#: Options added when the sources are OpenDRIVE: keep each lane's OpenDRIVE road and lane ID.
OPENDRIVE_OPTIONS: tuple[str, ...] = ("--output.original-names", "true")
_REQUIRED_SUFFIXES = (".nod.xml", ".edg.xml")

#: Fixed netconvert options: keep map coordinates, no U-turn connections, static signal programs.
NETCONVERT_OPTIONS: tuple[str, ...] = (
    "--offset.disable-normalization", "true",
    "--no-turnarounds", "true",
    "--tls.default-type", "static",
    "--no-warnings", "true",
)

_BUILD_TIMEOUT_S = 120.0


class SumoNotAvailableError(RuntimeError):
    """SUMO (binaries or the libsumo/traci Python modules) is not installed or not found."""

    def __init__(self, what: str):
        super().__init__(f"{what}; install SUMO with: pip install 'cav_stack[sim]'")


class NetworkBuildError(RuntimeError):
    """A network source directory is invalid or netconvert failed on it (message has its stderr)."""


def sumo_binary(name: str) -> Path:
    """Path of the SUMO executable ``name`` (``sumo``, ``netconvert``...).

    Looked up in ``$SUMO_HOME/bin``, then in the ``eclipse-sumo`` wheel, then on ``PATH``
    (libsumo points ``SUMO_HOME`` at its data-only package, which has no executables).
    Raises :class:`SumoNotAvailableError` naming the places searched.
    """
    candidates = []
    env = os.environ.get("SUMO_HOME")
    if env:
        candidates.append(Path(env) / "bin" / name)
    try:
        import sumo  # the eclipse-sumo wheel
        candidates.append(Path(sumo.SUMO_HOME) / "bin" / name)
    except ImportError:
        pass
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    searched = ", ".join(str(p) for p in candidates) or "no SUMO_HOME, no eclipse-sumo package, not on PATH"
    raise SumoNotAvailableError(f"SUMO executable '{name}' not found (searched: {searched})")


def sumo_environment(binary: Path) -> dict[str, str]:
    """Process environment for a SUMO executable: ``SUMO_HOME`` set to its installation."""
    env = dict(os.environ)
    env["SUMO_HOME"] = str(binary.resolve().parent.parent)
    return env


def network_sources(source_dir: str | Path) -> list[Path]:
    """The plain-XML source files of a network directory, sorted; checks the required ones exist."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise NetworkBuildError(f"network source directory {source_dir} does not exist")
    files = sorted(p for p in source_dir.iterdir()
                   if p.is_file() and any(p.name.endswith(s) for s in SOURCE_OPTIONS))
    if any(p.name.endswith(".xodr") for p in files):
        return files
    for suffix in _REQUIRED_SUFFIXES:
        if not any(p.name.endswith(suffix) for p in files):
            raise NetworkBuildError(f"network source directory {source_dir} has no *{suffix} file")
    return files


@functools.lru_cache(maxsize=4)
def _netconvert_version(netconvert: Path) -> str:
    result = subprocess.run([str(netconvert), "--version"], capture_output=True, text=True,
                            timeout=_BUILD_TIMEOUT_S, env=sumo_environment(netconvert), check=False)
    return result.stdout.splitlines()[0] if result.stdout else ""


def network_hash(sources: list[Path], netconvert_version: str) -> str:
    """SHA-256 hex digest of the source names and contents, netconvert version and options."""
    digest = hashlib.sha256()
    digest.update(netconvert_version.encode())
    digest.update("\0".join(NETCONVERT_OPTIONS).encode())
    if any(p.name.endswith(".xodr") for p in sources):
        digest.update("\0".join(OPENDRIVE_OPTIONS).encode())
    for path in sources:
        digest.update(b"\0" + path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_network(source_dir: str | Path, cache_dir: str | Path) -> Path:
    """Build (or reuse) the ``.net.xml`` of ``source_dir`` in ``cache_dir``; return its path.

    The file is ``<cache_dir>/<source dir name>-<hash16>.net.xml``; it is written atomically, so
    concurrent builds of the same sources are safe. Raises :class:`SumoNotAvailableError` when
    netconvert is missing and :class:`NetworkBuildError` (with netconvert's stderr) when it fails.
    """
    source_dir = Path(source_dir)
    sources = network_sources(source_dir)
    netconvert = sumo_binary("netconvert")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = network_hash(sources, _netconvert_version(netconvert))[:16]
    output = cache_dir / f"{source_dir.name}-{key}.net.xml"
    if output.is_file():
        return output
    command = [str(netconvert)]
    for path in sources:
        option = next(opt for suffix, opt in SOURCE_OPTIONS.items() if path.name.endswith(suffix))
        command += [option, str(path)]
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
        partial = Path(tmp) / output.name
        opendrive = OPENDRIVE_OPTIONS if any(p.name.endswith(".xodr") for p in sources) else ()
        command += [*NETCONVERT_OPTIONS, *opendrive, "--output-file", str(partial)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S,
                                    env=sumo_environment(netconvert), check=False)
        except subprocess.TimeoutExpired as exc:
            raise NetworkBuildError(f"netconvert timed out after {_BUILD_TIMEOUT_S:.0f} s on {source_dir}") from exc
        if result.returncode != 0 or not partial.is_file():
            raise NetworkBuildError(f"netconvert failed on {source_dir} (exit {result.returncode}):\n"
                                    f"{result.stderr.strip()}")
        os.replace(partial, output)
    return output
