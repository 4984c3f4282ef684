"""ament_python packaging: installs the package, its data folders into share/cav_stack."""
import os
from glob import glob

from setuptools import setup

PACKAGE = "cav_stack"
DATA_FOLDERS = ("launch", "sensors", "v2x", "controllers", "scenarios")


def data_files():
    files = [
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
    ]
    for folder in DATA_FOLDERS:
        for path in sorted(glob(os.path.join(folder, "**", "*"), recursive=True)):
            if os.path.isfile(path) and "__pycache__" not in path and "/build/" not in path:
                files.append((os.path.join("share", PACKAGE, os.path.dirname(path)), [path]))
    return files


setup(data_files=data_files())
