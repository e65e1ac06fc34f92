#!/usr/bin/env python3
"""Size benchmark: the Rust echo sample against Zephyr's C openamp_rsc_table sample.

Builds both for each board in the same run with the same toolchain, reads the
linker's memory-region report (FLASH and RAM used, bytes) and prints a Markdown
table with the Rust/C ratios and the targets (flash <= 1.10x, RAM <= 1.05x).
This is a benchmark, not a test: it always exits 0 unless a build fails.

Usage (from anywhere, after `source ~/zephyrproject/env.sh`):
    scripts/size_bench.py [--board imx95_evk/mimx9596/m7 ...] [--out DIR]
"""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOARDS = ["imx95_evk/mimx9596/m7", "colibri_imx7d/mcimx7d/m4"]
FLASH_TARGET, RAM_TARGET = 1.10, 1.05


def build(board: str, app: Path, out: Path, extra: list[str]) -> dict[str, int]:
    zws = Path(os.environ.get("ZWS", Path.home() / "zephyrproject"))
    cmd = ["west", "build", "-p", "-b", board, "-d", str(out), str(app), "--", *extra]
    r = subprocess.run(cmd, cwd=zws, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit(f"build failed: {' '.join(cmd)}")
    sizes = {}
    for region, used in re.findall(r"^\s*(\w+):\s+(\d+) B\s", r.stdout, re.M):
        sizes[region] = int(used)
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", action="append", help="board (repeatable)")
    ap.add_argument("--out", default="/tmp/mcore-size-bench", help="build directory root")
    args = ap.parse_args()
    zephyr = Path(os.environ["ZEPHYR_BASE"])
    c_app = zephyr / "samples/subsys/ipc/openamp_rsc_table"
    rust_app = ROOT / "samples/echo"
    rows = []
    for board in args.board or DEFAULT_BOARDS:
        tag = board.replace("/", "_")
        c = build(board, c_app, Path(args.out) / f"c-{tag}", [])
        rs = build(board, rust_app, Path(args.out) / f"rust-{tag}",
                   [f"-DEXTRA_ZEPHYR_MODULES={ROOT}"])
        rows.append((board, c, rs))
    print("| board | C flash (B) | Rust flash (B) | ratio (≤1.10) | C RAM (B) | Rust RAM (B) | ratio (≤1.05) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for board, c, rs in rows:
        fr = rs["FLASH"] / c["FLASH"]
        rr = rs["RAM"] / c["RAM"]
        ok = lambda v, t: "✓" if v <= t else "✗"  # noqa: E731
        print(f"| {board} | {c['FLASH']:,} | {rs['FLASH']:,} | {fr:.2f} {ok(fr, FLASH_TARGET)} "
              f"| {c['RAM']:,} | {rs['RAM']:,} | {rr:.2f} {ok(rr, RAM_TARGET)} |")


if __name__ == "__main__":
    main()
