#!/usr/bin/env python3
"""Echo benchmark: the Rust echo sample against Zephyr's C openamp_rsc_table sample on native_sim.

Measures round trips per second, and µs per round trip, between a Linux user-space program
(`mcore echo`, one message in flight, over rpmsg_char) and each firmware, under the same
User-Mode Linux kernel and the same virtio device (mcore-vdev), in one run. This is a
benchmark, not a test: it exits 0 whenever every cell got numbers.

Both firmwares answer on their `rpmsg-tty` endpoint with `TTY 0x<address>: ` (12 bytes) in
front of the message, so the fair comparison is there (`mcore echo --tty-prefix`), with 16-byte
and 484-byte messages (484 + 12 = 496, the largest RPMsg payload; both firmwares cut longer
replies to 496 bytes). The C sample's `rpmsg-client-sample` responder cannot be benchmarked: it
copies each message into a 20-byte buffer and stops after 100 messages. The Rust sample's
`rpmsg-client-sample` (plain echo, up to 496 bytes) is measured as well.

Method: `--rounds` rounds; in each round every firmware gets a fresh start (firmware, device
and one Linux boot), alternating which goes first. In that boot each cell (firmware, endpoint,
size) is run `--runs` times, one run being one `mcore echo` of `--messages` messages of one
size, after a 200-message warm-up, in an order that rotates from round to round. A cell's
figure is the median over all its runs, with the middle half of them (quartiles); µs per round
trip = 10^6 / median round trips per s. The figures depend on the load of the machine
(firmware, device and Linux are three host processes; the firmware picks up kicks by polling,
a k_sleep of 100 µs at 10 kHz ticks, i.e. every 100-200 µs, in real time): the load average before and after and
every run's figure are printed, and the interleaving spreads load changes over both
firmwares.

How the unmodified C sample runs here: it uses the vring `da` written into its resource table
(a Linux physical address) as a pointer, and maps the shared memory 1:1 (physical = virtual).
Its build therefore adds, to this module's native_sim overlay and .conf, an overlay that puts
Linux's memory at its own physical addresses (region 0x500000..0x10000000, `phys-base` =
0x500000; UML's memory is physical 0x573000..mem) and is started without ASLR (`setarch -R`)
so that its heap is not in that range. Kconfig: no shell, IPM kicks without data
(CONFIG_IPM_MAX_DATA_SIZE=0; the driver carries none), a heap for 256-entry vrings, and
warnings-only logging (the sample logs every message at INFO level).

Usage (after `source ~/zephyrproject/env.sh`; builds both firmwares, 1 + 3-5 min, then
measures for about 2-3 min):
    scripts/bench_echo.py [--rounds 9] [--runs 3] [--messages 1000] [--out DIR]
    scripts/bench_echo.py --rust-fw build/echo/zephyr/zephyr.exe \\
        --c-fw build/c/zephyr/zephyr_openamp_rsc_table.exe        # no builds
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "pylib"))

from mcore_sim import Board, build_host_tool, kernel_dir  # noqa: E402
from mcore_sim.uml import kernel_release  # noqa: E402

BOARD = "native_sim/native/64"
TTY_PREFIX = 12  # len("TTY 0x0401: ")
WARMUP = 200

#: Linux's memory at its own physical addresses, for the C sample (see the docstring).
C_OVERLAY = """\
/* scripts/bench_echo.py: Linux's memory at its own physical addresses (firmware address =
 * Linux physical address), because Zephyr's openamp_rsc_table sample uses vring `da` values
 * as pointers and maps the shared memory 1:1. UML's memory is physical 0x573000..mem. */
/delete-node/ &linux_mem;

/ {
	chosen {
		zephyr,ipc_shm = &linux_mem_1to1;
	};

	linux_mem_1to1: memory@500000 {
		compatible = "mcore-rs,native-sim-linux-memory";
		reg = <0x500000 0xfb00000>;
		phys-base = <0x500000>;
	};
};

&ipc0 {
	memory-region = <&linux_mem_1to1>;
};
"""

C_CONF = """\
# scripts/bench_echo.py: Zephyr's openamp_rsc_table sample on native_sim with UML.
# The shell's RPMsg backend is not part of the echo being compared.
CONFIG_SHELL=n
# The sample sends 4 data bytes with each kick when this is > 0; the native_sim IPM
# driver carries kicks only (as the i.MX 95 MU through zephyr,mbox-ipm).
CONFIG_IPM_MAX_DATA_SIZE=0
# libmetal allocates the virtqueues (256 entries each with UML) from the system heap.
CONFIG_HEAP_MEM_POOL_SIZE=32768
# Warnings and errors only (the sample logs every message at INFO); the IPM driver's
# INFO lines (memory mapped) stay.
CONFIG_PRINTK=y
CONFIG_LOG=y
CONFIG_LOG_MODE_MINIMAL=y
CONFIG_LOG_DEFAULT_LEVEL=2
CONFIG_IPM_LOG_LEVEL_INF=y
"""


@dataclass(frozen=True)
class Cell:
    firmware: str  # "Rust" or "C"
    channel: str
    size: int

    @property
    def tty(self) -> bool:
        return self.channel == "rpmsg-tty"

    @property
    def key(self) -> str:
        return f"{self.firmware}/{self.channel}/{self.size}"


CELLS = {
    "Rust": [Cell("Rust", "rpmsg-tty", 16), Cell("Rust", "rpmsg-tty", 484),
             Cell("Rust", "rpmsg-client-sample", 16), Cell("Rust", "rpmsg-client-sample", 496)],
    "C": [Cell("C", "rpmsg-tty", 16), Cell("C", "rpmsg-tty", 484)],
}


@dataclass
class Result:
    rates: list[float] = field(default_factory=list)  # round trips/s, one per run
    errors: list[str] = field(default_factory=list)


def west_build(app: Path, out: Path, extra: list[str]) -> None:
    zws = Path(os.environ.get("ZWS", Path.home() / "zephyrproject"))
    # In a workspace made from this repository's west.yml the module is known already;
    # elsewhere (e.g. the offline workspace) add it explicitly.
    known = subprocess.run(["west", "list", "-f", "{abspath}"], cwd=zws, capture_output=True,
                           text=True).stdout.split()
    if str(ROOT) not in known:
        extra = [f"-DEXTRA_ZEPHYR_MODULES={ROOT}", *extra]
    cmd = ["west", "build", "-p", "-b", BOARD, "-d", str(out), str(app), "--", *extra]
    print(f"building {app.name} -> {out} ...", file=sys.stderr, flush=True)
    log = out.with_suffix(".log")
    with open(log, "w") as f:
        r = subprocess.run(cmd, cwd=zws, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"build failed ({log}): {' '.join(cmd)}")


def exe_in(build: Path) -> Path:
    found = sorted((build / "zephyr").glob("*.exe"))
    if len(found) != 1:
        raise SystemExit(f"expected one zephyr/*.exe in {build}, found {found}")
    return found[0]


def build_firmwares(out: Path) -> tuple[Path, Path]:
    if "ZEPHYR_BASE" not in os.environ:
        raise SystemExit("ZEPHYR_BASE is not set: source ~/zephyrproject/env.sh "
                         "(or pass --rust-fw and --c-fw)")
    out.mkdir(parents=True, exist_ok=True)
    overlay, conf = out / "c-1to1.overlay", out / "c-bench.conf"
    overlay.write_text(C_OVERLAY)
    conf.write_text(C_CONF)
    c_app = Path(os.environ["ZEPHYR_BASE"]) / "samples/subsys/ipc/openamp_rsc_table"
    west_build(c_app, out / "c", [
        f"-DDTC_OVERLAY_FILE={ROOT}/boards/native_sim_native_64.overlay;{overlay}",
        f"-DEXTRA_CONF_FILE={ROOT}/boards/native_sim_native_64.conf;{conf}"])
    west_build(ROOT / "samples/echo", out / "rust", [])
    return exe_in(out / "rust"), exe_in(out / "c")


def no_aslr_wrapper(exe: Path, workdir: Path) -> Path:
    """A launcher that starts `exe` without address-space randomisation (see the docstring)."""
    setarch = shutil.which("setarch")
    if setarch is None:
        raise SystemExit("setarch (util-linux) is needed to start the C sample without ASLR")
    w = workdir / f"{exe.stem}-no-aslr.sh"
    w.write_text(f'#!/bin/sh\nexec {setarch} {platform.machine()} -R "{exe}" "$@"\n')
    w.chmod(0o755)
    return w


def linux_script(mcore: Path, cells: list[Cell], messages: int, runs: int) -> str:
    lines = ["set -u", f"M={mcore}", "$M list --wait rpmsg-tty >/dev/null || exit 1"]
    # Warm-up: the first messages after the link came up (and the first endpoint).
    for ch, prefix in sorted({(c.channel, c.tty) for c in cells}):
        opt = " --tty-prefix" if prefix else ""
        lines.append(f"$M echo {ch} -n {WARMUP} --min 16 --max 16 --quiet{opt} >/dev/null")
    for c in [c for _ in range(runs) for c in cells]:
        opt = " --tty-prefix" if c.tty else ""
        lines.append(f'out=$($M echo {c.channel} -n {messages} --min {c.size} --max {c.size} '
                     f'--quiet{opt} 2>&1); echo "@@ {c.key} rc=$? $out"')
    return "\n".join(lines) + "\n"


def run_round(name: str, exe: Path, workdir: Path, mcore: Path, messages: int, runs: int,
              results: dict[str, Result], rnd: int) -> None:
    k = rnd % len(CELLS[name])
    cells = CELLS[name][k:] + CELLS[name][:k]  # each cell takes each place in the boot
    board = Board(exe, workdir).start()
    try:
        console = board.run(linux_script(mcore, cells, messages, runs), timeout=300,
                            name=f"bench-{name}")
    except Exception as e:  # noqa: BLE001 - a benchmark reports and goes on
        for c in cells:
            results[c.key].errors.append(f"Linux run failed: {str(e)[:300]}")
        return
    finally:
        board.stop()
    for c in cells:
        found = list(re.finditer(rf"^@@ {re.escape(c.key)} rc=(\d+) (.*)$", console, re.M))
        for m in found:
            rate = re.search(r"all identical and in order.*; (\d+) round trips/s", m.group(2))
            if m.group(1) == "0" and rate:
                results[c.key].rates.append(float(rate.group(1)))
            else:
                results[c.key].errors.append(m.group(2))
        if len(found) < runs:
            results[c.key].errors.append(f"{runs - len(found)} run(s) without a result "
                                         f"(see the logs in {workdir})")


def facts(args, rust_fw: Path, c_fw: Path, kdir: Path, load0) -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "?"
    zbase = os.environ.get("ZEPHYR_BASE")
    cache = c_fw.parent.parent / "CMakeCache.txt"
    if not zbase and cache.is_file():
        m = re.search(r"^ZEPHYR_BASE:\w+=(.*)$", cache.read_text(), re.M)
        zbase = m and m.group(1)
    zver = "?"
    if zbase and (Path(zbase) / "VERSION").is_file():
        v = dict(re.findall(r"^(\w+)\s*=\s*(\S*)", (Path(zbase) / "VERSION").read_text(), re.M))
        zver = f"{v.get('VERSION_MAJOR')}.{v.get('VERSION_MINOR')}.{v.get('PATCHLEVEL')}"
    load1 = os.getloadavg()
    return [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {cpu}, {os.cpu_count()} CPUs, host Linux {platform.release()}",
        f"- load average (1/5/15 min) before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
        f"after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}",
        f"- peer: User-Mode Linux {kernel_release(kdir)} ({kdir}), mem=128M, rpmsg_char; "
        f"device: mcore-vdev; firmware: {BOARD}, real time, kicks polled every 100-200 µs",
        f"- firmwares: Rust {rust_fw}; C {c_fw} (Zephyr {zver} openamp_rsc_table, unmodified)",
        f"- mcore-rs {git}; per cell {args.rounds} rounds x {args.runs} runs x {args.messages} "
        f"messages (+{WARMUP} warm-up per boot), one message in flight",
    ]


def fmt_rate(r: Result) -> tuple[str, str]:
    if not r.rates:
        return "failed", "-"
    med = statistics.median(r.rates)
    q1, _, q3 = statistics.quantiles(r.rates, n=4) if len(r.rates) > 1 else [med] * 3
    return f"{med:,.0f} [{q1:,.0f}–{q3:,.0f}]", f"{1e6 / med:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="See the module docstring for the method.")
    ap.add_argument("--rust-fw", type=Path, help="Rust echo zephyr.exe (default: build it)")
    ap.add_argument("--c-fw", type=Path,
                    help="openamp_rsc_table .exe built with this script's overlay and .conf "
                         "(default: build it)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/mcore-echo-bench"),
                    help="build directory root (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=9, help="rounds (9)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each cell per round (3)")
    ap.add_argument("--messages", "-n", type=int, default=1000, help="messages per run (1000)")
    ap.add_argument("--workdir", type=Path, help="logs (default: a new temporary directory)")
    args = ap.parse_args()

    if bool(args.rust_fw) != bool(args.c_fw):
        ap.error("give both --rust-fw and --c-fw, or neither (then both are built)")
    if args.rust_fw:
        rust_fw, c_fw = args.rust_fw.resolve(), args.c_fw.resolve()
    else:
        rust_fw, c_fw = build_firmwares(args.out.resolve())
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="mcore-echo-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    os.environ["PATH"] = f"{Path.home() / '.cargo' / 'bin'}:{os.environ.get('PATH', '')}"
    mcore = build_host_tool("mcore")
    build_host_tool("mcore-vdev")
    kdir = kernel_dir()  # the same kernel for every boot
    exes = {"Rust": rust_fw, "C": no_aslr_wrapper(c_fw, workdir)}
    results = {c.key: Result() for cs in CELLS.values() for c in cs}

    load0 = os.getloadavg()
    t0 = time.monotonic()
    for r in range(args.rounds):
        order = ["Rust", "C"] if r % 2 == 0 else ["C", "Rust"]
        for name in order:
            run_round(name, exes[name], workdir, mcore, args.messages, args.runs, results, r)
        print(f"round {r + 1}/{args.rounds} done ({time.monotonic() - t0:.0f} s)",
              file=sys.stderr, flush=True)

    print("## Echo round trips, Linux rpmsg_char <-> firmware on native_sim\n")
    print("| firmware | endpoint | message (B) | reply (B) | round trips/s: median [middle half] "
          "| µs/round trip (median) |")
    print("|---|---|---:|---:|---:|---:|")
    for cs in CELLS.values():
        for c in cs:
            rate, us = fmt_rate(results[c.key])
            reply = c.size + (TTY_PREFIX if c.tty else 0)
            print(f"| {c.firmware} | {c.channel} | {c.size} | {reply} | {rate} | {us} |")
    print("\n| rpmsg-tty, message (B) | Rust µs/round trip | C µs/round trip "
          "| Rust/C, round trips/s (medians) |")
    print("|---:|---:|---:|---:|")
    for size in (16, 484):
        rs, c = results[f"Rust/rpmsg-tty/{size}"], results[f"C/rpmsg-tty/{size}"]
        if rs.rates and c.rates:
            ratio = statistics.median(rs.rates) / statistics.median(c.rates)
            print(f"| {size} | {1e6 / statistics.median(rs.rates):,.0f} "
                  f"| {1e6 / statistics.median(c.rates):,.0f} | {ratio:.2f} |")
        else:
            print(f"| {size} | {fmt_rate(rs)[1]} | {fmt_rate(c)[1]} | - |")
    print("\nThe C sample cannot echo 496 B: its rpmsg-tty reply adds 12 bytes (484 B at most), "
          "its rpmsg-client-sample copies into 20 bytes and stops after 100 messages.\n")
    print("\n".join(facts(args, rust_fw, c_fw, kdir, load0)))
    print(f"- benchmark time: {time.monotonic() - t0:.0f} s (without builds); logs: {workdir}")
    print("- round trips/s of each run, in round order: " + "; ".join(
        f"{key} " + " ".join(f"{x:.0f}" for x in r.rates) for key, r in results.items()))
    for key, r in results.items():
        for e in r.errors:
            print(f"- {key}: failed run: {e}")
    return 0 if all(r.rates for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
