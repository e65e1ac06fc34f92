//! `mcore-vdev`: a real Linux (User-Mode Linux) as the RPMsg peer of the `native_sim` firmware.
//!
//! UML booted with `virtio_uml.device=<socket>:7` (7 = `VIRTIO_ID_RPMSG`) is a vhost-user
//! *frontend*: it connects to `<socket>` and describes its virtio rpmsg device there. `mcore-vdev`
//! is the vhost-user *backend* listening on that socket. It does not touch the virtqueues: the
//! firmware's OpenAMP processes them directly in Linux's memory (zero copy). `mcore-vdev` plays
//! the part the i.MX SoC and Linux remoteproc play on real hardware:
//!
//! 1. it hands Linux's memory file to the firmware, which maps it at its shared-memory base, so
//!    that firmware address = base + Linux physical address;
//! 2. it writes into the firmware's resource table exactly what Linux `remoteproc_core.c` /
//!    `remoteproc_virtio.c` would write (notify ids, status, `gfeatures`, vring `da`);
//! 3. it relays kicks: Linux's kick eventfds to the firmware, the firmware's kicks to Linux's
//!    call fds.
//!
//! # Firmware protocol
//!
//! The firmware's `native_sim` IPM driver implements the other end of this protocol.
//!
//! * Unix `SOCK_SEQPACKET` socket. The firmware **listens** at a path (default
//!   [`fw::DEFAULT_IPC`], `/tmp/mcore-rs.ipc.0`); `mcore-vdev` **connects**, retrying for up to
//!   10 s until the path exists.
//! * Every message is 16 bytes, little-endian: `struct { kind: u32, vring: u32, arg: u64 }`
//!   ([`fw::Msg`]). Messages of another size are a protocol error.
//! * Kinds ([`fw::kind`]):
//!   - `1 KICK`, both directions. `mcore-vdev` → firmware: Linux kicked vring `vring` (a value
//!     was read from that vring's kick eventfd); `arg` 0. Firmware → `mcore-vdev`: the firmware's
//!     `ipm_send(id)`, `vring = id`, `arg` 0. On a firmware KICK `mcore-vdev` writes the 8-byte
//!     value 1 to the call fd of **both** vrings (Linux's `imx_rproc_rx_callback()` services
//!     every virtqueue whatever the mailbox data), skipping vrings that have no call fd yet.
//!   - `2 MEM`, `mcore-vdev` → firmware, with exactly one fd in `SCM_RIGHTS`: Linux's memory
//!     file. `arg` = bytes the firmware must map from file offset 0
//!     (= `mmap_offset + memory_size` of the one vhost-user region, so that Linux physical
//!     address P is at firmware base + P). `mcore-vdev` then waits up to 5 s for `MEM_ACK`
//!     before it answers `SET_MEM_TABLE`, so the firmware has mapped the memory before it can
//!     see `DRIVER_OK`.
//!   - `3 MEM_ACK`, firmware → `mcore-vdev`: `arg` = 0, or a negative errno as `i64` (e.g.
//!     `-EFBIG` when the memory is larger than the firmware's devicetree region). Non-zero:
//!     `mcore-vdev` reports the error and drops that Linux connection.
//!   - `4 RSC`, firmware → `mcore-vdev`, the **first** message after the firmware accepts the
//!     connection, with one fd in `SCM_RIGHTS`: the firmware's resource-table memory (a small
//!     POSIX shm object); `arg` = its size in bytes. The resource table (the ELF
//!     `.resource_table` bytes: header, offsets, one `fw_rsc_vdev` with two
//!     `fw_rsc_vdev_vring`) starts at offset 0. `mcore-vdev` maps it `MAP_SHARED` read-write and
//!     writes into it while the firmware reads it: whole aligned little-endian `u32` fields with
//!     volatile stores, the status byte last ([`table::SharedTable::publish`]).
//!   - Unknown kinds are logged and ignored.
//! * When the firmware closes the socket, `mcore-vdev` exits with an error message (exit
//!   code 1).
//!
//! # vhost-user side
//!
//! UML 6.1 sends, on every boot: `SET_OWNER`, `GET_FEATURES`, `GET_PROTOCOL_FEATURES`,
//! `SET_PROTOCOL_FEATURES`, `SET_BACKEND_REQ_FD` (a.k.a. `SET_SLAVE_REQ_FD`), `SET_FEATURES`,
//! `SET_MEM_TABLE` (one region), per vring `SET_VRING_CALL`, `SET_VRING_NUM`,
//! `SET_VRING_BASE`, `SET_VRING_ADDR`, then per vring `SET_VRING_KICK` and
//! `SET_VRING_ENABLE 1`. A clean poweroff sends `SET_VRING_ENABLE 0` for both rings,
//! `GET_FEATURES`, then closes the socket; a killed UML just closes it. A new boot is a new
//! connection. [`translate`] turns these requests into resource-table writes; it is pure (no
//! fds, no sockets) and is tested against recorded sequences (`mcore-vdev --record`).
//!
//! # Modules
//! * [`translate`]: the vhost-user → resource-table state machine (pure).
//! * [`fw`]: the firmware socket protocol.
//! * [`table`]: the shared resource-table mapping and its ordered volatile writes.
//! * [`device`]: the vhost-user request handler that ties them together, plus the kick relay.
#![deny(missing_docs)]

pub mod device;
pub mod fw;
pub mod table;
pub mod translate;
pub mod uml;
