#!/usr/bin/env bash
# The first thing to try, with no board: the Rust echo firmware on native_sim with a real
# Linux kernel as its peer. Builds what is missing (the firmware; User-Mode Linux 6.1 from
# Debian's linux-source-6.1, once, about 3-7 min on 2 cores, cached in ~/.cache/mcore-rs;
# the Linux-side tools), starts the firmware, its virtio device and Linux, loads Linux's own
# rpmsg_client_sample and shows the kernel's lines through "goodbye!", then talks to the
# firmware with `mcore` over rpmsg_char.
#
#   scripts/sim-demo.sh            (ZWS = west workspace, default ~/zephyrproject)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ZWS=${ZWS:-$HOME/zephyrproject}
# shellcheck disable=SC1091
[[ -f $ZWS/env.sh ]] && source "$ZWS/env.sh"
build=${BUILD_DIR:-$root/build/echo-native_sim}

if [[ ! -x $build/zephyr/zephyr.exe ]]; then
  # In a workspace made from this repository's west.yml the module is known already;
  # elsewhere (e.g. the offline workspace) add it explicitly.
  extra=()
  if ! (cd "$ZWS" && west list -f '{abspath}' 2>/dev/null | grep -qx "$root"); then
    extra=(-- "-DEXTRA_ZEPHYR_MODULES=$root")
  fi
  (cd "$ZWS" && west build -b native_sim/native/64 -d "$build" "$root/samples/echo" "${extra[@]}")
fi

# The kernel (cached) and the host tools: ordinary host programs, no -Zbuild-std settings.
"$root/scripts/uml/build-kernel.sh" >/dev/null
unset CARGO_UNSTABLE_BUILD_STD RUSTC_BOOTSTRAP
cargo build --quiet --release --manifest-path "$root/Cargo.toml" \
  --bin mcore --bin mcore-vdev --bin imu-logger

PYTHONPATH="$root/scripts/pylib" exec python3 -m mcore_sim --firmware "$build/zephyr/zephyr.exe" -- '
insmod "$MCORE_MODDIR/kernel/samples/rpmsg/rpmsg_client_sample.ko"
n=0; until dmesg | grep -q "goodbye!"; do n=$((n+1)); [ $n -ge 300 ] && break; sleep 0.1; done
mcore list
mcore echo rpmsg-client-sample -n 100 --quiet
stty -F /dev/ttyRPMSG0 raw -echo; (timeout 3 head -n 1 /dev/ttyRPMSG0 &); sleep 0.2
echo "hello from Linux" > /dev/ttyRPMSG0; sleep 0.5'
