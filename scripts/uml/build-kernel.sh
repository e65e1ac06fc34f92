#!/usr/bin/env bash
# Builds the User-Mode Linux kernel (ARCH=um, x86_64) that plays "real Linux" in the mcore-rs
# tests, from Debian's linux-source-6.1 package, with the Kconfig fragment uml.config and the
# patches in patches/ (see /work/shared/design/linux-in-the-loop.md).
#
#   scripts/uml/build-kernel.sh [--install-deps] [--check-config] [-j N]
#   dir=$(scripts/uml/build-kernel.sh | tail -1)
#
# The result is cached in ${MCORE_RS_CACHE:-$HOME/.cache/mcore-rs}/uml/<key>/, where <key>
# hashes the source package version, uml.config, every patch and this script:
#   linux                        the UML kernel binary
#   modroot/lib/modules/<ver>/   the modules (e.g. .../samples/rpmsg/rpmsg_client_sample.ko)
#   config                       the final .config
#   release                      the kernel release (uname -r in the guest)
#   build.log                    make's output
# A second run with the same inputs prints the path at once. The build runs in a temporary
# directory next to the cache entry, which is renamed into place only when complete.
#
# All progress goes to stderr; the last (only) line on stdout is the cache directory.
#
# Options:
#   --install-deps   apt-get install the build prerequisites first (needs root or sudo)
#   --check-config   unpack, patch, configure and check the .config, then stop (no cache)
#   -j N             parallel make jobs (default: nproc; env MCORE_RS_UML_JOBS)
#   -v, --verbose    stream make's output to stderr instead of a periodic progress line
#
# Environment: MCORE_RS_CACHE (cache root), LINUX_SOURCE_TARBALL (default
# /usr/src/linux-source-6.1.tar.xz), MCORE_RS_UML_JOBS.
#
# Exit codes: 0 ok, 1 build or check failure, 2 missing prerequisite or bad usage.
set -euo pipefail

# Everything that is not the final path goes to stderr.
exec 3>&1 1>&2

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_PATH="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
FRAGMENT="$SCRIPT_DIR/uml.config"
PATCH_DIR="$SCRIPT_DIR/patches"
SRC_PKG=linux-source-6.1
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/$SRC_PKG.tar.xz}
CACHE_ROOT=${MCORE_RS_CACHE:-$HOME/.cache/mcore-rs}/uml
JOBS=${MCORE_RS_UML_JOBS:-$(nproc 2>/dev/null || echo 2)}
MAKE_ARGS=(ARCH=um SUBARCH=x86_64)
SETSID=$(command -v setsid || true)

install_deps=0
check_only=0
verbose=0
T0=$SECONDS

log() { printf 'build-kernel: %s\n' "$*"; }
die() { printf 'build-kernel: error: %s\n' "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$SCRIPT_PATH"; }
phase() { printf 'build-kernel: [%4ss] %s\n' "$((SECONDS - T0))" "$*"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--install-deps) install_deps=1 ;;
	--check-config) check_only=1 ;;
	-j) [ $# -ge 2 ] || { usage; exit 2; }; JOBS=$2; shift ;;
	-j*) JOBS=${1#-j} ;;
	-v | --verbose) verbose=1 ;;
	-h | --help) usage; exit 0 ;;
	*) log "unknown argument: $1"; usage; exit 2 ;;
	esac
	shift
done
case "$JOBS" in '' | *[!0-9]* | 0) log "bad job count: $JOBS"; exit 2 ;; esac

# --- prerequisites ----------------------------------------------------------------------------
# "command package" pairs; the tarball and C headers are checked separately.
TOOLS=(gcc:gcc make:make flex:flex bison:bison bc:bc patch:patch xz:xz-utils tar:tar
	perl:perl sha256sum:coreutils depmod:kmod)
APT_PACKAGES=("$SRC_PKG" gcc make flex bison bc patch xz-utils tar perl coreutils kmod
	libc6-dev)

if [ "$install_deps" = 1 ]; then
	phase "checking prerequisites: ${APT_PACKAGES[*]}"
	sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || { log "--install-deps needs root or sudo"; exit 2; }
		sudo=(sudo)
	fi
	absent=()
	for p in "${APT_PACKAGES[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || absent+=("$p")
	done
	if [ ${#absent[@]} -gt 0 ]; then
		"${sudo[@]}" apt-get update -q
		# --no-upgrade: install what is missing, change nothing else on the machine.
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends --no-upgrade "${absent[@]}"
	fi
fi

missing=()
for t in "${TOOLS[@]}"; do
	cmd=${t%%:*} pkg=${t#*:}
	# depmod lives in /sbin, which is not always in a user's PATH.
	command -v "$cmd" >/dev/null || [ -x "/sbin/$cmd" ] || [ -x "/usr/sbin/$cmd" ] ||
		missing+=("$cmd (apt package $pkg)")
done
[ -f /usr/include/stdio.h ] || missing+=("C library headers (apt package libc6-dev)")
[ -f "$TARBALL" ] || missing+=("$TARBALL (apt package $SRC_PKG)")
if [ ${#missing[@]} -gt 0 ]; then
	log "missing prerequisites:"
	printf '  %s\n' "${missing[@]}"
	log "install them with: apt-get install -y ${APT_PACKAGES[*]}"
	log "(or run this script with --install-deps)"
	exit 2
fi
[ -f "$FRAGMENT" ] || die "missing $FRAGMENT"

shopt -s nullglob
PATCHES=("$PATCH_DIR"/*.patch)
shopt -u nullglob

# --- cache key ----------------------------------------------------------------------------------
# The source package's version identifies the tarball; without dpkg, hash the tarball itself.
if src_version=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null) && [ -n "$src_version" ] &&
	[ -z "${LINUX_SOURCE_TARBALL:-}" ]; then
	src_id="$SRC_PKG $src_version"
else
	phase "hashing $TARBALL (no dpkg version for it)"
	src_id="$(basename "$TARBALL") $(sha256sum <"$TARBALL" | cut -d' ' -f1)"
fi
key=$(
	{
		printf 'source %s\n' "$src_id"
		printf 'fragment\n'; cat "$FRAGMENT"
		for p in "${PATCHES[@]}"; do printf 'patch %s\n' "$(basename "$p")"; cat "$p"; done
		printf 'script\n'; cat "$SCRIPT_PATH"
	} | sha256sum | cut -c1-16
)
final="$CACHE_ROOT/$key"

cached() { [ -x "$final/linux" ] && [ -f "$final/config" ] && [ -d "$final/modroot/lib/modules" ]; }

if [ "$check_only" = 0 ] && cached; then
	log "cached: $final ($src_id, $(cat "$final/release" 2>/dev/null || echo '?'))"
	echo "$final" >&3
	exit 0
fi

mkdir -p "$CACHE_ROOT"
# One build per key at a time: a second caller waits, then finds the cache.
if [ "$check_only" = 0 ] && command -v flock >/dev/null; then
	exec 4>"$CACHE_ROOT/.lock-$key"
	if ! flock -n 4; then
		log "another build of $key is running; waiting for it"
		flock 4
	fi
	if cached; then
		log "cached: $final (built by the other run)"
		echo "$final" >&3
		exit 0
	fi
fi

log "building UML $src_id (key $key, make -j$JOBS)"
log "fragment $FRAGMENT; patches: ${PATCHES[*]##*/}"

# --- temporary build directory, removed on any exit -------------------------------------------
work=$(mktemp -d "$CACHE_ROOT/.build-$key.XXXXXX")
make_pid=
cleanup() {
	rc=$?
	if [ -n "$make_pid" ] && kill -0 "$make_pid" 2>/dev/null; then
		# make and its compilers run in their own process group (setsid).
		kill -TERM -- "-$make_pid" 2>/dev/null || kill -TERM "$make_pid" 2>/dev/null || true
		wait "$make_pid" 2>/dev/null || true
	fi
	if [ "$rc" != 0 ] && [ -f "$work/build.log" ]; then
		cp "$work/build.log" "$CACHE_ROOT/failed-$key.log" 2>/dev/null &&
			log "make's full output: $CACHE_ROOT/failed-$key.log"
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

src="$work/src"
out="$work/out"
LOG="$work/build.log"
mkdir -p "$src" "$out"
: >"$LOG"

# Runs make with its output in $LOG; prints a progress line now and then (or everything
# with -v); on failure shows the tail of the log.
run_make() {
	local rc=0 last=$SECONDS
	printf '\n### make %s\n' "$*" >>"$LOG"
	if [ "$verbose" = 1 ]; then
		make -C "$src" "${MAKE_ARGS[@]}" "$@" 2>&1 | tee -a "$LOG" || rc=$?
	else
		$SETSID make -C "$src" "${MAKE_ARGS[@]}" "$@" >>"$LOG" 2>&1 &
		make_pid=$!
		while kill -0 "$make_pid" 2>/dev/null; do
			sleep 2
			if [ $((SECONDS - last)) -ge 30 ]; then
				last=$SECONDS
				printf 'build-kernel: [%4ss]   ... %s\n' "$((SECONDS - T0))" \
					"$(tail -n 1 "$LOG" | cut -c1-100)"
			fi
		done
		wait "$make_pid" || rc=$?
		make_pid=
	fi
	if [ "$rc" != 0 ]; then
		log "make $* failed (exit $rc); last lines of its output:"
		tail -n 40 "$LOG" | sed 's/^/  | /'
		exit 1
	fi
}

phase "unpacking $TARBALL"
tar -xJf "$TARBALL" -C "$src" --strip-components=1

for p in "${PATCHES[@]}"; do
	phase "applying ${p##*/}"
	patch -d "$src" -p1 --forward --batch --quiet <"$p" ||
		die "patch ${p##*/} does not apply to $src_id"
done

phase "configuring: defconfig + ${FRAGMENT##*/} + olddefconfig"
run_make defconfig
(cd "$src" && ARCH=um SUBARCH=x86_64 scripts/kconfig/merge_config.sh -m .config "$FRAGMENT") \
	>>"$LOG" 2>&1 || die "merge_config.sh failed (see $LOG)"
run_make olddefconfig

# Kconfig silently drops options whose dependencies are unmet: check every one.
bad=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		sym=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		grep -qxF "$sym=$want" "$src/.config" ||
			bad+=("$sym=$want (got: $(grep -E "^$sym=|^# $sym is not set" "$src/.config" || echo absent))")
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		sym=${BASH_REMATCH[1]}
		! grep -qE "^$sym=" "$src/.config" ||
			bad+=("# $sym is not set (got: $(grep -E "^$sym=" "$src/.config"))")
	fi
done <"$FRAGMENT"
if [ ${#bad[@]} -gt 0 ]; then
	log "the final .config does not have these options of ${FRAGMENT##*/}:"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
release=$(make -s -C "$src" "${MAKE_ARGS[@]}" kernelrelease)
phase "config OK: all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set)' "$FRAGMENT") options of ${FRAGMENT##*/} are in .config (release $release)"

if [ "$check_only" = 1 ]; then
	log "--check-config: stopping here"
	exit 0
fi

phase "building the kernel (make -j$JOBS; output in the build log)"
run_make -j"$JOBS"
phase "building the modules"
run_make -j"$JOBS" modules
phase "installing the modules"
run_make INSTALL_MOD_PATH="$out/modroot" modules_install
# These point into the temporary source tree.
rm -f "$out/modroot/lib/modules/$release/build" "$out/modroot/lib/modules/$release/source"

cp "$src/linux" "$out/linux"
cp "$src/.config" "$out/config"
echo "$release" >"$out/release"
printf '%s\n' "$src_id" >"$out/source"
cp "$LOG" "$out/build.log"
[ -x "$out/linux" ] || die "no linux binary"

# Atomic: rename(2) of a complete directory. A concurrent builder without flock may have won.
if ! mv -T "$out" "$final" 2>/dev/null; then
	cached || die "could not move the result to $final"
	log "another build already installed $final; using it"
fi

phase "done: UML $release, $(du -h "$final/linux" | cut -f1) binary, in $((SECONDS - T0)) s"
echo "$final" >&3
