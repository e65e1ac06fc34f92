"""pytest fixtures for the samples' native_sim tests; a sample's conftest.py imports them."""
from pathlib import Path

import pytest

from . import Firmware, build_host_tool


def pytest_addoption(parser):
    # Provided by twister's pytest plugin; declared here too so the tests also run stand-alone
    # (python3 -m pytest pytest/ --build-dir build).
    try:
        parser.addoption("--build-dir", help="Zephyr build directory of the firmware")
    except ValueError:
        pass


@pytest.fixture(scope="module")
def firmware(request, tmp_path_factory):
    """The sample's zephyr.exe, running with a private socket and shm object; stopped at the
    end with a check that it exits with 0 and removes both."""
    build_dir = Path(request.config.getoption("--build-dir"))
    fw = Firmware(build_dir / "zephyr" / "zephyr.exe", tmp_path_factory.mktemp("fw")).start()
    yield fw
    rc = fw.stop()
    assert rc == 0, f"firmware exit code {rc}\n{fw.log()}"
    assert fw.cleaned_up(), "socket or shared-memory object left behind"


@pytest.fixture(scope="module")
def mcore():
    """The `mcore` host tool (release build)."""
    return build_host_tool("mcore")


@pytest.fixture(scope="module")
def logger():
    """The `imu-logger` host tool (release build)."""
    return build_host_tool("imu-logger")
