"""Test helpers for mcore-rs firmware running on native_sim against the `mcore` host tool.

Used by the twister pytest harness of the samples (samples/*/pytest). The firmware is a
native_sim zephyr.exe; it is started here with its own kick socket and shared-memory object
so that tests can run in parallel, and it is stopped at the end with a check that it exits
cleanly and removes both.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


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


class Firmware:
    """A native_sim firmware process with a private socket and shm object."""

    def __init__(self, exe: Path, workdir: Path, extra_args: list[str] | None = None):
        tag = uuid.uuid4().hex[:8]
        self.exe = exe
        self.ipc = Path("/tmp") / f"mcore-test-{tag}.ipc"
        self.shm = f"mcore-test-{tag}.shm"
        self.log_path = workdir / f"firmware-{tag}.log"
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Firmware":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(self.exe), "--rt", f"--mcore-ipc={self.ipc}", f"--mcore-shm={self.shm}",
             *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.ipc.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"firmware did not start:\n{self.log()}")
            time.sleep(0.02)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in firmware log:\n{self.log()}")
            time.sleep(0.05)
        return self.log()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        assert self.proc is not None
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

    def cleaned_up(self) -> bool:
        """The socket file and the shm object are gone."""
        return not self.ipc.exists() and not Path("/dev/shm", self.shm).exists()

    def host_args(self) -> list[str]:
        return ["--ipc", str(self.ipc), "--shm", self.shm]
