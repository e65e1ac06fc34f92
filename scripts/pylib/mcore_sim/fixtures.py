"""pytest fixtures for the samples' native_sim tests; a sample's conftest.py imports them."""
from pathlib import Path

import pytest

from . import Board, build_host_tool


def pytest_addoption(parser):
    # Provided by twister's pytest plugin; declared here too so the tests also run stand-alone
    # (python3 -m pytest pytest/ --build-dir build).
    try:
        parser.addoption("--build-dir", help="Zephyr build directory of the firmware")
    except ValueError:
        pass


@pytest.fixture(scope="module")
def firmware_exe(request) -> Path:
    """The sample's native_sim zephyr.exe."""
    return Path(request.config.getoption("--build-dir")) / "zephyr" / "zephyr.exe"


@pytest.fixture(scope="module")
def board(request, firmware_exe, tmp_path_factory):
    """The firmware and its virtio device, ready for Linux boots (``board.run(script)``).
    A test module's ``FIRMWARE_ARGS`` list is added to the firmware's command line.

    At the end: no kernel ``BUG:``/``WARNING:``/``Call Trace`` in any boot, and the firmware
    exits with 0 and removes its socket and shm object."""
    args = list(getattr(request.module, "FIRMWARE_ARGS", []))
    b = Board(firmware_exe, tmp_path_factory.mktemp("board"), args).start()
    yield b
    problems = [p for uml in b.boots for p in uml.kernel_problems()]
    vrc, frc = b.stop()
    assert not problems, "kernel problems:\n" + "\n".join(problems)
    assert frc == 0, f"firmware exit code {frc}\n{b.firmware.log()}"
    assert vrc == 0, f"mcore-vdev exit code {vrc}\n{b.vdev.log()}"
    assert b.firmware.cleaned_up(), "socket or shared-memory object left behind"


@pytest.fixture(scope="module")
def mcore():
    """The `mcore` tool (release build); runs inside User-Mode Linux from the host tree."""
    return build_host_tool("mcore")


@pytest.fixture(scope="module")
def logger():
    """The `imu-logger` tool (release build); runs inside User-Mode Linux."""
    return build_host_tool("imu-logger")
