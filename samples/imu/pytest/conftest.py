import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts" / "pylib"))
from mcore_sim import Firmware, build_host_tool  # noqa: E402


def pytest_addoption(parser):
    # Provided by twister's pytest plugin; declared here too so the file also runs stand-alone.
    try:
        parser.addoption("--build-dir", help="Zephyr build directory of the firmware")
    except ValueError:
        pass


@pytest.fixture(scope="module")
def logger():
    return build_host_tool("imu-logger")


@pytest.fixture(scope="module")
def firmware(request, tmp_path_factory):
    build_dir = Path(request.config.getoption("--build-dir"))
    fw = Firmware(build_dir / "zephyr" / "zephyr.exe", tmp_path_factory.mktemp("fw")).start()
    yield fw
    rc = fw.stop()
    assert rc == 0, f"firmware exit code {rc}\n{fw.log()}"
    assert not fw.ipc.exists(), "socket left behind"
    assert not Path("/dev/shm", fw.shm).exists(), "shared-memory object left behind"
