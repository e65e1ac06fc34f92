"""Run a native_sim firmware with User-Mode Linux as its peer, from the command line.

    python3 -m mcore_sim --firmware build/zephyr/zephyr.exe -- 'mcore list; mcore echo rpmsg-tty'
    python3 -m mcore_sim --firmware build/zephyr/zephyr.exe --script my-test.sh

The shell text (or script) runs inside Linux as root, with the host's file system read-only
as its root, ``/mnt/out`` writable (``--out``), ``$MCORE_MODDIR`` for ``insmod`` and the
workspace's release binaries (``mcore``, ``imu-logger``) on ``PATH``. Linux's RPMsg lines
and the script's output are printed as they come; everything is in ``--workdir``.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

from . import ROOT, Board

#: Console lines shown live: the kernel's RPMsg/virtio lines and kernel trouble, and once the
#: init runs, everything else that is not a kernel line (the script's own output).
KERNEL = re.compile(r"rpmsg|virtio|BUG:|WARNING:|Call Trace|panic")
OUTPUT = re.compile(r"^[^\[]")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m mcore_sim", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--firmware", required=True, type=Path, help="native_sim zephyr.exe")
    p.add_argument("--script", type=Path, help="shell script to run inside Linux")
    p.add_argument("--workdir", type=Path, help="logs and /mnt/out (default: a new temp dir)")
    p.add_argument("--timeout", type=float, default=300, help="seconds until Linux must be off")
    p.add_argument("--all", action="store_true", help="show every console line")
    p.add_argument("command", nargs="*", help="shell text to run inside Linux")
    a = p.parse_args(argv)
    if bool(a.script) == bool(a.command):
        p.error("give either --script or a command")
    text = a.script.read_text() if a.script else " ".join(a.command) + "\n"
    bin_dir = ROOT / "target" / "release"
    text = f'export PATH="{bin_dir}:$PATH"\n' + text
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="mcore-sim-"))
    workdir.mkdir(parents=True, exist_ok=True)

    board = Board(a.firmware, workdir).start()
    rc = 1
    try:
        uml = board.boot(text)
        shown, started = 0, False
        deadline = time.monotonic() + a.timeout
        while True:
            done = not uml.alive()
            console = uml.console()
            lines = console[shown:].split("\n")
            if not done:
                lines = lines[:-1]  # the last one may be incomplete
            for line in lines:
                shown += len(line) + 1
                started = started or "mcore-uml: init started" in line
                if a.all or KERNEL.search(line) or (started and OUTPUT.search(line)):
                    print(line, flush=True)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        rc = uml.wait_exit(5) if not uml.alive() else 124
        problems = uml.kernel_problems()
        if problems:
            print("kernel problems:\n" + "\n".join(problems), file=sys.stderr)
            rc = rc or 1
    finally:
        board.stop()
        print(f"logs: {workdir} (firmware, mcore-vdev, Linux console)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
