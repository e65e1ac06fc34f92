#!/usr/bin/env bash
# mcore-rs test command (README "Testing"): host-side checks and tests, then the
# Zephyr part with twister when the west workspace (~/zephyrproject, or $ZWS)
# exists. .ci/run calls this script.
#
#   scripts/test.sh            everything
#   scripts/test.sh --host     host side only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ZWS=${ZWS:-$HOME/zephyrproject}
passed=0 failed=0 skipped=0

step() { printf '\n=== %s\n' "$*"; }

# ---- host side -------------------------------------------------------------
# The firmware build exports -Zbuild-std settings (env.sh); the host build must not see them.
unset CARGO_UNSTABLE_BUILD_STD RUSTC_BOOTSTRAP
host_cargo=cargo
[[ -x $HOME/.cargo/bin/cargo ]] && host_cargo=$HOME/.cargo/bin/cargo

step "rustfmt --check (every Rust file: host crates, firmware crate, samples)"
host_rustfmt=rustfmt
[[ -x $HOME/.cargo/bin/rustfmt ]] && host_rustfmt=$HOME/.cargo/bin/rustfmt
git ls-files -z -- '*.rs' | xargs -0 "$host_rustfmt" --check --edition 2021

step "cargo clippy -D warnings (host workspace)"
"$host_cargo" clippy --workspace --all-targets --quiet -- -D warnings

# The Linux devicetree overlays (linux/dts/) and check-elf --board need dtc; the overlay
# tests of src/imx-rproc skip without it, so require it here.
step "dtc (device-tree-compiler) for the Linux overlays"
if dtc --version; then
  passed=$((passed + 1))
else
  echo "dtc not found: install device-tree-compiler"; failed=$((failed + 1))
fi

step "cargo test (host workspace)"
log=$(mktemp)
"$host_cargo" test --workspace 2>&1 | tee "$log"
read -r p f < <(awk '/^test result:/ {p+=$4; f+=$6} END {print p+0, f+0}' "$log")
passed=$((passed + p)); failed=$((failed + f))
rm -f "$log"

if [[ ${1:-} == --host ]]; then
  echo; echo "Zephyr part: skipped (--host)"
  echo "host: $passed passed, $failed failed"
  exit 0
fi

# ---- Zephyr part -------------------------------------------------------------
if [[ ! -f $ZWS/env.sh ]]; then
  echo
  echo "Zephyr part: SKIPPED - no west workspace at $ZWS (see README 'Set up');"
  echo "only the host-side tests ran."
  echo "$passed passed, $failed failed, 0 skipped"
  exit $((failed > 0))
fi

step "User-Mode Linux kernel (the tests' Linux peer; built once, then cached)"
t0=$SECONDS
kdir=$("$root/scripts/uml/build-kernel.sh" ${MCORE_RS_INSTALL_DEPS:+--install-deps} | tail -1)
echo "kernel: $kdir ($((SECONDS - t0)) s)"

step "twister (build-only i.MX boards + native_sim runtime tests against Linux)"
# shellcheck disable=SC1091
source "$ZWS/env.sh"
# The pytest harness runs Linux with the host tools; build them once here, with the
# toolchain the harness will use, so that no test spends its time limit compiling.
(unset CARGO_UNSTABLE_BUILD_STD RUSTC_BOOTSTRAP
 cargo build --quiet --release --manifest-path "$root/Cargo.toml" \
   --bin mcore --bin imu-logger --bin mcore-vdev)
out=${TWISTER_OUT:-$root/twister-out}
set +e
(cd "$ZWS" && west twister --integration -x=EXTRA_ZEPHYR_MODULES="$root" \
   -T "$root/samples" -T "$root/tests" -O "$out" -j "${TWISTER_JOBS:-2}" --inline-logs)
tw_rc=$?
set -e
read -r tp tf ts < <(python3 - "$out/twister.json" <<'PY'
import json, sys
try:
    suites = json.load(open(sys.argv[1]))["testsuites"]
except (OSError, KeyError, ValueError):
    print(0, 1, 0); raise SystemExit
# Build-only configurations ("not run") passed their build and the resource-table check.
p = sum(s["status"] in ("passed", "not run") for s in suites)
f = sum(s["status"] in ("failed", "error") for s in suites)
k = sum(s["status"] in ("skipped", "filtered") for s in suites)
print(p, f, k)
PY
)
echo "twister: $tp passed (runtime and build-only), $tf failed, $ts skipped (rc $tw_rc)"
passed=$((passed + tp)); failed=$((failed + tf)); skipped=$((skipped + ts))
((tw_rc == 0)) || ((tf > 0)) || failed=$((failed + 1))

# clippy on the firmware crates (zephyr-mcore, the samples) needs a configured Zephyr build:
# reuse twister's native_sim builds (their generated cargo config).
step "cargo clippy -D warnings (firmware crates, with twister's native_sim build configs)"
for sample in echo imu; do
  cfg=$(find "$out" -path "*sample.mcore_rs.$sample.native_sim/rust/sample-cargo-config.toml" | head -1)
  if [[ -z $cfg ]]; then
    echo "clippy $sample: no native_sim build in $out"; failed=$((failed + 1)); continue
  fi
  if (cd "$root/samples/$sample" && cargo clippy --quiet --release --config "$cfg" \
        --target-dir "$out/clippy-target" -- -D warnings); then
    echo "clippy $sample: clean"; passed=$((passed + 1))
  else
    echo "clippy $sample: FAILED"; failed=$((failed + 1))
  fi
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $((failed > 0))
