import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts" / "pylib"))
from mcore_sim.fixtures import board, firmware_exe, logger, mcore, pytest_addoption  # noqa: E402,F401
