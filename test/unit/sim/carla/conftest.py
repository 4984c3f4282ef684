"""The CARLA bridge tests need the ``carla`` client package (extra ``carla``); without it only
``test_no_carla_package.py`` runs."""
import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("carla") else ["test_carla_*.py"]
