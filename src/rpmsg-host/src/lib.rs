//! The Linux side of mcore-rs RPMsg.
//!
//! This crate is the project's one host-side RPMsg implementation:
//!
//! * [`elf`]: find and check the `.resource_table` of a firmware ELF, as Linux remoteproc does
//!   before `echo start > /sys/class/remoteproc/remoteprocN/state`.
//! * [`shm`], [`vring`], [`bus`]: what Linux remoteproc + `virtio_rpmsg_bus` do for the
//!   firmware's vdev (allocate vrings and 512-byte buffers, negotiate features, set the vdev
//!   status, name service, endpoints, vring buffer ownership), over shared memory and a kick
//!   transport ([`kick`]). Used against the firmware running on `native_sim`.
//! * [`link`]: the [`link::RpmsgLink`] trait every backend implements, so programs such as
//!   `mcore` and `imu-logger` work the same on a simulator ([`link::SimLink`]) and on real
//!   Linux ([`chardev::CharDevLink`], rpmsg_char).

#![deny(missing_docs)]

pub mod bus;
pub mod chardev;
pub mod elf;
pub mod kick;
pub mod link;
pub mod shm;
pub mod sim;
pub mod vring;

use rpmsg_proto::rsc::RscError;
use rpmsg_proto::PayloadTooLarge;

/// A broken rule of the virtio/RPMsg protocol by the other side. Reported, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The device's `used.idx` ran more than `num` entries ahead of what we consumed.
    #[error("used index {used} is more than {num} ahead of {last}")]
    UsedIndexAhead {
        /// Device's used.idx.
        used: u16,
        /// Our last consumed index.
        last: u16,
        /// Ring size.
        num: u16,
    },
    /// A used element names a descriptor that does not exist.
    #[error("used element names descriptor {id}, ring has {num}")]
    BadDescriptor {
        /// Descriptor id.
        id: u32,
        /// Ring size.
        num: u16,
    },
    /// A used element returns a descriptor we did not hand out.
    #[error("descriptor {0} returned but not in flight")]
    NotInFlight(u16),
    /// A used length or RPMsg header length that does not fit the buffer.
    #[error("message length {len} does not fit a {max}-byte buffer")]
    BadLength {
        /// Length claimed.
        len: u32,
        /// Buffer or payload limit in bytes.
        max: u32,
    },
    /// A message for an address no endpoint has (Linux: "msg received with no recipient").
    #[error("message from {src:#x} to unknown address {dst:#x}")]
    UnknownAddress {
        /// Source address.
        src: u32,
        /// Destination address.
        dst: u32,
    },
    /// A malformed name-service message.
    #[error("bad name-service message: {0}")]
    BadNameService(String),
}

/// Errors of the host library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An offset range outside the shared memory.
    #[error("range {offset:#x}+{len} is outside the {size}-byte shared memory")]
    OutOfBounds {
        /// Offset in bytes.
        offset: u64,
        /// Length in bytes.
        len: usize,
        /// Shared memory size in bytes.
        size: usize,
    },
    /// The firmware's resource table is missing or invalid.
    #[error("resource table: {0}")]
    ResourceTable(#[from] RscError),
    /// The shared memory is too small for the vrings, buffers and host state.
    #[error("shared memory of {have} bytes, need {need}")]
    ShmTooSmall {
        /// Needed bytes.
        need: usize,
        /// Present bytes.
        have: usize,
    },
    /// The device broke a protocol rule.
    #[error("protocol violation: {0}")]
    Protocol(#[from] Violation),
    /// Payload longer than 496 bytes (buffer minus the 16-byte header). Nothing was sent.
    #[error(transparent)]
    MessageTooLarge(#[from] PayloadTooLarge),
    /// No transmit buffer free (all are with the device) and the call must not wait.
    #[error("no free transmit buffer")]
    WouldBlock,
    /// Nothing arrived within the timeout.
    #[error("timed out")]
    TimedOut,
    /// No announced channel of that name.
    #[error("no channel named '{0}' announced by the firmware")]
    NoSuchChannel(String),
    /// The channel was destroyed by the firmware.
    #[error("channel '{0}' was destroyed")]
    ChannelGone(String),
    /// The kick transport closed (firmware exited).
    #[error("the firmware closed the connection")]
    Disconnected,
    /// An OS error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
