"""Run mcore-rs firmware on native_sim with a real Linux kernel as its peer.

Three processes stand for an i.MX board:

* the firmware, a native_sim ``zephyr.exe`` (the M-core), with its own socket and
  resource-table shm object so that tests can run in parallel (:class:`Firmware`);
* ``mcore-vdev`` (``src/sim-vdev``), the virtio rpmsg device that User-Mode Linux talks
  vhost-user to; it hands Linux's memory to the firmware, writes the resource table as Linux
  remoteproc does and relays kicks (:class:`Vdev`);
* User-Mode Linux 6.1 with its unmodified RPMsg stack (:class:`uml.Uml`), running a shell
  script as its workload.

:class:`Board` starts and stops the three together. Used by the twister pytest harness of
the samples (``samples/*/pytest``), by ``scripts/sim-demo.sh`` and by the benchmark.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from .uml import Uml, kernel_dir

ROOT = Path(__file__).resolve().parents[3]

__all__ = ["Board", "Firmware", "Uml", "Vdev", "build_host_tool", "kernel_dir", "ROOT"]


def host_env() -> dict[str, str]:
    """The environment for a host (not firmware) cargo build: no -Zbuild-std settings."""
    env = dict(os.environ)
    for k in ("CARGO_UNSTABLE_BUILD_STD", "RUSTC_BOOTSTRAP", "CARGO_BUILD_TARGET", "RUSTFLAGS"):
        env.pop(k, None)
    return env


def build_host_tool(name: str = "mcore") -> Path:
    """Builds a host binary of the workspace (release) and returns its path."""
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--manifest-path", str(ROOT / "Cargo.toml"),
         "--bin", name],
        check=True, env=host_env())
    return ROOT / "target" / "release" / name


def _wait(pred, timeout: float, what: str, log=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s\n{log()}")
        time.sleep(0.02)


class _Process:
    """A child process whose output goes to a log file."""

    proc: subprocess.Popen | None = None
    log_path: Path

    def _spawn(self, argv: list[str]) -> None:
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 10) -> str:
        _wait(lambda: text in self.log(), timeout, f"{text!r} not in {self.log_path.name}",
              self.log)
        return self.log()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        assert self.proc is not None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()

    def wait_exit(self, timeout: float = 10) -> int:
        """Waits for the process to end by itself; its exit code."""
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self._log.close()
        return rc


class Firmware(_Process):
    """A native_sim firmware process with a private socket and resource-table shm object."""

    def __init__(self, exe: Path, workdir: Path, extra_args: list[str] | None = None):
        tag = uuid.uuid4().hex[:8]
        self.exe = exe
        self.ipc = Path("/tmp") / f"mcore-test-{tag}.ipc"
        self.rsc = f"mcore-test-{tag}.rsc"
        self.log_path = workdir / f"firmware-{tag}.log"
        self.extra_args = extra_args or []

    def start(self) -> "Firmware":
        self._spawn([str(self.exe), "--rt", f"--mcore-ipc={self.ipc}", f"--mcore-rsc={self.rsc}",
                     *self.extra_args])
        _wait(lambda: self.ipc.exists() or not self.alive(), 10, "firmware socket", self.log)
        if not self.alive():
            raise RuntimeError(f"firmware did not start:\n{self.log()}")
        return self

    def cleaned_up(self) -> bool:
        """The socket file and the shm object are gone."""
        return not self.ipc.exists() and not Path("/dev/shm", self.rsc).exists()


class Vdev(_Process):
    """``mcore-vdev``: serves the firmware's vdev to User-Mode Linux over vhost-user."""

    def __init__(self, exe: Path, firmware: Firmware, workdir: Path):
        tag = uuid.uuid4().hex[:8]
        self.exe = exe
        self.firmware = firmware
        self.socket = Path("/tmp") / f"mcore-vhost-{tag}.sock"
        self.log_path = workdir / f"vdev-{tag}.log"

    def start(self) -> "Vdev":
        self._spawn([str(self.exe), "--socket", str(self.socket),
                     "--ipc", str(self.firmware.ipc)])
        _wait(lambda: self.socket.exists() or not self.alive(), 10, "vhost-user socket",
              self.log)
        if not self.alive():
            raise RuntimeError(f"mcore-vdev did not start:\n{self.log()}")
        return self


class Board:
    """Firmware + virtio device, and any number of Linux boots against them, one at a time.

    ``boot(script)`` starts User-Mode Linux with ``script`` (shell text run by its init, with
    ``$MCORE_MODDIR`` for ``insmod`` and ``/mnt/out`` writable, mapped to ``out_dir``).
    """

    def __init__(self, firmware_exe: Path, workdir: Path, fw_args: list[str] | None = None):
        self.workdir = workdir
        self.out_dir = workdir / "out"
        self.out_dir.mkdir(exist_ok=True)
        self.kernel = kernel_dir()
        self.firmware = Firmware(firmware_exe, workdir, fw_args)
        self.vdev_exe = build_host_tool("mcore-vdev")
        self.vdev: Vdev | None = None
        self.boots: list[Uml] = []

    def start(self) -> "Board":
        self.firmware.start()
        self.vdev = Vdev(self.vdev_exe, self.firmware, self.workdir).start()
        return self

    def boot(self, script: str, name: str = "run") -> Uml:
        """Boots a new Linux that runs ``script``; returns at once (see ``Uml.wait_exit``)."""
        assert self.vdev is not None
        path = self.workdir / f"{name}-{len(self.boots)}.sh"
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)
        uml = Uml(self.kernel, path, out_dir=self.out_dir, vhost_socket=self.vdev.socket)
        self.boots.append(uml)
        uml.start()
        return uml

    def run(self, script: str, timeout: float = 120, name: str = "run") -> str:
        """Boots Linux with ``script``, waits until it powers off; its console output."""
        uml = self.boot(script, name)
        rc = uml.wait_exit(timeout)
        assert rc == 0, f"User-Mode Linux exited with {rc}:\n{uml.console()}"
        return uml.console()

    def stop(self) -> tuple[int, int]:
        """Kills any Linux still running, stops the device and the firmware; their exit codes."""
        for uml in self.boots:
            uml.kill()
        vrc = self.vdev.stop() if self.vdev else 0
        frc = self.firmware.stop()
        return vrc, frc
