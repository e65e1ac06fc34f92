#!/usr/bin/env bash
# The first thing to try, with no board: build the Rust echo firmware for
# native_sim and run it against the Linux-side host tool `mcore`, which lists the
# announced channels and echoes 100 messages of 1..496 bytes.
#
#   scripts/sim-demo.sh            (ZWS = west workspace, default ~/zephyrproject)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ZWS=${ZWS:-$HOME/zephyrproject}
# shellcheck disable=SC1091
[[ -f $ZWS/env.sh ]] && source "$ZWS/env.sh"
build=${BUILD_DIR:-$root/build/echo-native_sim}

# In a workspace made from this repository's west.yml the module is known already;
# elsewhere (e.g. the offline workspace) add it explicitly.
extra=()
if ! (cd "$ZWS" && west list -f '{abspath}' 2>/dev/null | grep -qx "$root"); then
  extra=(-- "-DEXTRA_ZEPHYR_MODULES=$root")
fi
(cd "$ZWS" && west build -b native_sim/native/64 -d "$build" "$root/samples/echo" "${extra[@]}")

# The host tool is an ordinary host program: no -Zbuild-std settings.
unset CARGO_UNSTABLE_BUILD_STD RUSTC_BOOTSTRAP
cargo run --quiet --release --manifest-path "$root/Cargo.toml" --bin mcore -- \
  --firmware "$build/zephyr/zephyr.exe" echo rpmsg-client-sample -n 100 --min 1 --max 496
