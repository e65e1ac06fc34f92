"""User-Mode Linux as the "real Linux" peer of the firmware in tests and demos.

The kernel is Debian's linux-source-6.1 built as ``ARCH=um`` with the RPMsg stack and two
fixes (``scripts/uml/build-kernel.sh``; :func:`kernel_dir` builds it once and caches it). It
runs as an ordinary process. Its root file system is the host's own tree, read-only, over
hostfs, so host-built programs run inside unchanged; ``scripts/uml/init`` mounts the usual
file systems, runs one shell script and powers off::

    uml = Uml(kernel_dir(), Path("run.sh"), out_dir=Path("out"), vhost_socket=sock).start()
    assert uml.wait_exit(120) == 0 and uml.script_exit_code() == 0
    assert not uml.kernel_problems(), uml.console()

Inside the guest the script finds ``$MCORE_MODDIR`` (the kernel's modules, e.g.
``insmod $MCORE_MODDIR/kernel/samples/rpmsg/rpmsg_client_sample.ko``; ``modprobe`` works as
well), ``out_dir`` writable at ``/mnt/out`` and at its own path (``$MCORE_OUT``), and its own
directory at its own path. ``/tmp``, ``/run`` and ``/dev/shm`` are the guest's own tmpfs.

With ``vhost_socket`` the kernel is booted with ``virtio_uml.device=<socket>:7`` (7 is
VIRTIO_ID_RPMSG) and talks vhost-user to the device listening there.

Each boot runs in its own process group with a private ``uml_dir``; :meth:`Uml.kill` ends the
whole group with SIGKILL, as a crash would. The guest's memory file is exactly ``mem`` bytes
and at the same addresses every boot (``setarch -R``: no host ASLR). A rare start-up hang of
UML under load is handled by one retry (:attr:`Uml.boot_timeout`). Standard library only.
"""
from __future__ import annotations

import codecs
import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = ROOT / "scripts" / "uml" / "build-kernel.sh"
INIT = ROOT / "scripts" / "uml" / "init"

#: The first line of scripts/uml/init: the kernel has booted and runs user space.
BOOT_MARKER = "mcore-uml: init started"
#: Printed by scripts/uml/init after the run script: ``mcore-uml: run.sh exited 0``.
EXIT_RE = re.compile(r"mcore-uml: (\S+) exited (\d+)")
#: Kernel messages that mean something went wrong in the kernel.
PROBLEM_RE = re.compile(r"BUG:|WARNING:|Call Trace|Kernel panic|Oops:")
#: A printk time stamp (CONFIG_PRINTK_TIME), which tells kernel lines from the script's output.
_PRINTK_TIME_RE = re.compile(r"\[\s*\d+\.\d{6}\]")
#: VIRTIO_ID_RPMSG
VIRTIO_ID_RPMSG = 7


def _kill_group_quietly(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class UmlError(RuntimeError):
    """User-Mode Linux did not boot or behave as expected; the message ends with its console."""


class UmlTimeout(UmlError, TimeoutError):
    """A wait on User-Mode Linux timed out."""


@functools.cache
def kernel_dir() -> Path:
    """The cached kernel build (``linux``, ``modroot/``, ``config``), built on first use.

    Runs ``scripts/uml/build-kernel.sh``, which returns at once when the kernel is cached and
    otherwise builds it (several minutes; its progress goes to stderr). The environment
    variable ``MCORE_RS_UML_KERNEL_DIR`` names a ready kernel directory instead.
    """
    ready = os.environ.get("MCORE_RS_UML_KERNEL_DIR")
    if ready:
        path = Path(ready).resolve()
    else:
        out = subprocess.run([str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        lines = out.strip().splitlines()
        if not lines:
            raise UmlError(f"{BUILD_SCRIPT} printed no kernel directory")
        path = Path(lines[-1])
    if not (path / "linux").is_file():
        raise UmlError(f"no UML kernel in {path}")
    return path


def kernel_release(kdir: Path) -> str:
    """The kernel's release (``uname -r`` in the guest), e.g. ``6.1.192``."""
    release = kdir / "release"
    if release.is_file():
        return release.read_text().strip()
    found = sorted(p.name for p in (kdir / "modroot" / "lib" / "modules").iterdir())
    if len(found) != 1:
        raise UmlError(f"cannot tell the kernel release of {kdir}: {found}")
    return found[0]


class Uml:
    """One boot of User-Mode Linux running ``run_script`` (a host path) and powering off."""

    #: Seconds from start until the init's first line, else the boot is retried once.
    boot_timeout: float = 30.0

    def __init__(self, kernel_dir: Path | str, run_script: Path | str,
                 out_dir: Path | str | None = None, mem: str = "128M",
                 vhost_socket: Path | str | None = None, extra_args: Sequence[str] = (),
                 *, vhost_device_id: int = VIRTIO_ID_RPMSG, boot_timeout: float | None = None,
                 work_dir: Path | str | None = None) -> None:
        """Prepares a boot; :meth:`start` runs it.

        ``extra_args`` are appended to the kernel command line (unknown ``key=value``
        arguments reach the run script's environment). ``work_dir`` holds the console log and
        the private ``uml_dir`` (default: a new temporary directory, removed at :meth:`close`,
        or when this object is garbage-collected or Python exits, unless the environment
        variable ``MCORE_UML_KEEP`` is set). A guest still running then is killed too.
        """
        self.kernel_dir = Path(kernel_dir).resolve()
        self.linux = self.kernel_dir / "linux"
        self.run_script = Path(run_script).resolve()
        self.out_dir = Path(out_dir).resolve() if out_dir is not None else None
        self.mem = mem
        self.vhost_socket = Path(vhost_socket).resolve() if vhost_socket is not None else None
        self.vhost_device_id = vhost_device_id
        self.extra_args = list(extra_args)
        if boot_timeout is not None:
            self.boot_timeout = boot_timeout
        self._own_work_dir = work_dir is None
        self.work_dir = Path(tempfile.mkdtemp(prefix="mcore-uml-") if work_dir is None
                             else work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._rm_work_dir: weakref.finalize[..., object] | None = None
        if self._own_work_dir and not os.environ.get("MCORE_UML_KEEP"):
            self._rm_work_dir = weakref.finalize(self, shutil.rmtree, str(self.work_dir), True)
        self._kill_at_exit: weakref.finalize[..., object] | None = None
        self.umid = f"mcore-{uuid.uuid4().hex[:12]}"
        self.uml_dir = self.work_dir / f"uml-{self.umid}"
        self.log_path = self.work_dir / f"console-{self.umid}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        #: Boot attempts made by :meth:`start` (2 after a retry).
        self.attempts = 0
        #: Wall-clock seconds from the start of the (last) attempt to the init's first line.
        self.boot_seconds: float | None = None
        self._log_file: IO[bytes] | None = None
        self._t0 = 0.0
        self._text = ""
        self._pos = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    # --- command line ---------------------------------------------------------------------

    def argv(self) -> list[str]:
        """The command that :meth:`start` runs."""
        moddir = self.kernel_dir / "modroot" / "lib" / "modules" / kernel_release(self.kernel_dir)
        args = ["setarch", "x86_64", "-R", str(self.linux),
                f"mem={self.mem}", "con=null", "con0=fd:0,fd:1",
                f"uml_dir={self.uml_dir}", f"umid={self.umid}",
                "rootfstype=hostfs", "rootflags=/", "ro", f"init={INIT}",
                f"mcore_run={self.run_script}", f"mcore_moddir={moddir}"]
        # The repository (its built tools and scripts) at its own path, also where the guest's
        # tmpfs on /tmp would hide it (a checkout under /tmp).
        args.append(f"mcore_mounts={ROOT}")
        if self.out_dir is not None:
            args.append(f"mcore_out={self.out_dir}")
        if self.vhost_socket is not None:
            args.append(f"virtio_uml.device={self.vhost_socket}:{self.vhost_device_id}")
        return args + self.extra_args

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> "Uml":
        """Boots; returns once the init runs (retrying once if UML hangs while starting)."""
        if self.proc is not None:
            raise UmlError("already started")
        for path, what in ((self.linux, "UML kernel"), (INIT, "init"),
                           (self.run_script, "run script")):
            if not path.is_file():
                raise UmlError(f"no {what} at {path}")
        if not os.access(INIT, os.X_OK):
            raise UmlError(f"{INIT} is not executable")
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        argv = self.argv()
        for attempt in (1, 2):
            self.attempts = attempt
            self._spawn(argv)
            if self._wait_boot():
                return self
            # Hung (alive, no init): kill the group and try once more with a fresh log.
            hung_log = self.log_path.with_suffix(f".attempt{attempt}.log")
            self._kill_group()
            self.log_path.rename(hung_log)
            if attempt == 2:
                raise UmlTimeout(f"User-Mode Linux did not boot within {self.boot_timeout} s, "
                                 f"twice (first console: {hung_log})\n{self.console()}")
        raise AssertionError("unreachable")

    def _spawn(self, argv: list[str]) -> None:
        self.uml_dir.mkdir(parents=True, exist_ok=True)
        self._text, self._pos = "", 0
        self._decoder.reset()
        self._log_file = open(self.log_path, "wb")
        self._t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.returncode = None
        # A guest must not outlive a test run that forgets it (detached once reaped).
        self._kill_at_exit = weakref.finalize(self, _kill_group_quietly, self.proc.pid)

    def _wait_boot(self) -> bool:
        """True once the init runs; False if UML hangs; UmlError if it exits first."""
        deadline = self._t0 + self.boot_timeout
        while True:
            text = self._read()
            if BOOT_MARKER in text:
                self.boot_seconds = time.monotonic() - self._t0
                return True
            if not self.alive():
                self._reap()
                raise UmlError(f"User-Mode Linux exited with {self.returncode} before its init "
                               f"ran\n{self.console()}")
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def alive(self) -> bool:
        """The UML process is running."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The pid of the UML main process, which is also its process group."""
        return self.proc.pid if self.proc is not None else None

    def wait_exit(self, timeout: float = 120.0) -> int:
        """Waits until the guest powers off; UML's exit code (0 after ``poweroff``).

        On timeout the guest is killed and :class:`UmlTimeout` raised."""
        if self.proc is None:
            raise UmlError("not started")
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise UmlTimeout(f"User-Mode Linux still running after {timeout} s; killed\n"
                             f"{self.console()}") from None
        self._reap()
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        """SIGKILL to the whole process group (like a crash), then removes the uml_dir.

        Does nothing to a guest that has already exited."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._kill_group()
        self._reap()

    def _kill_group(self) -> None:
        assert self.proc is not None
        _kill_group_quietly(self.proc.pid)
        self._reap()

    def _reap(self) -> None:
        """After the main process ended: no helper process left, no uml_dir, log closed."""
        assert self.proc is not None
        self.returncode = self.proc.wait()
        # UML's helpers share its process group; none should outlive it.
        _kill_group_quietly(self.proc.pid)
        if self._kill_at_exit is not None:
            self._kill_at_exit.detach()
        shutil.rmtree(self.uml_dir, ignore_errors=True)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self._read()

    def close(self) -> None:
        """Kills the guest if it runs, and removes the work directory if this object made it
        (kept when the environment variable ``MCORE_UML_KEEP`` is set)."""
        self.kill()
        if self._rm_work_dir is not None:
            self._read()
            self._rm_work_dir()

    def __enter__(self) -> "Uml":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- console ----------------------------------------------------------------------------

    def _read(self) -> str:
        """The console so far (reads what is new in the log file)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return self._text
        self._pos += len(data)
        self._text += self._decoder.decode(data)
        return self._text

    def console(self) -> str:
        """Everything UML printed: kernel messages, the init's and the run script's output."""
        return self._read()

    def wait_for(self, text: str, timeout: float = 30.0, since: int = 0) -> str:
        """Waits until ``text`` appears on the console (at or after character ``since``);
        returns the line that holds it. :class:`UmlTimeout` on timeout, :class:`UmlError` if
        UML exits without printing it."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.alive()
            console = self._read()
            i = console.find(text, since)
            if i >= 0:
                start = console.rfind("\n", 0, i) + 1
                end = console.find("\n", i)
                return console[start:end if end >= 0 else len(console)]
            if not alive:
                raise UmlError(f"User-Mode Linux exited without printing {text!r}\n{console}")
            if time.monotonic() > deadline:
                raise UmlTimeout(f"{text!r} not on the console within {timeout} s\n{console}")
            time.sleep(0.02)

    def kernel_problems(self) -> list[str]:
        """Kernel lines with ``BUG:``, ``WARNING:``, ``Call Trace``, ``Kernel panic`` or
        ``Oops:`` (kernel lines: those with a printk time stamp); tests assert none."""
        return [line for line in self.console().splitlines()
                if PROBLEM_RE.search(line) and _PRINTK_TIME_RE.search(line)]

    def script_exit_code(self) -> int | None:
        """The run script's exit code as the init reported it, or None if it has not ended."""
        m = EXIT_RE.search(self.console())
        return int(m.group(2)) if m else None

    def __repr__(self) -> str:
        state = ("not started" if self.proc is None else
                 "running" if self.alive() else f"exited {self.returncode}")
        return f"<Uml {self.umid} {self.run_script.name} {state}>"
