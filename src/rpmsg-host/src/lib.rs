//! The Linux side of mcore-rs RPMsg, on the Linux kernel's own RPMsg stack.
//!
//! * [`elf`]: find and check the `.resource_table` of a firmware ELF, as Linux remoteproc does
//!   before `echo start > /sys/class/remoteproc/remoteprocN/state`.
//! * [`chardev`]: RPMsg endpoints through the kernel's `rpmsg_char` (`/dev/rpmsg_ctrlN` →
//!   `/dev/rpmsgN`), the channels the firmware announced from sysfs.
//! * [`link`]: the [`link::RpmsgLink`] trait programs such as `mcore` and `imu-logger` use, and
//!   [`link::Target`], the command-line options that choose the control device.
//!
//! The same binaries run on an i.MX target and, on a PC, inside User-Mode Linux whose
//! virtio device is backed by the firmware running on `native_sim` (see `src/sim-vdev`).

#![deny(missing_docs)]

pub mod chardev;
pub mod elf;
pub mod link;

use rpmsg_proto::PayloadTooLarge;

/// Errors of the host library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Payload longer than 496 bytes (buffer minus the 16-byte header), refused before it
    /// reached the kernel. Nothing was sent.
    #[error(transparent)]
    MessageTooLarge(#[from] PayloadTooLarge),
    /// Nothing arrived within the timeout.
    #[error("timed out")]
    TimedOut,
    /// No announced channel of that name.
    #[error("no channel named '{0}' announced by the firmware")]
    NoSuchChannel(String),
    /// Linux refused the message: `virtio_rpmsg_send_offchannel_raw()` answers `EMSGSIZE`
    /// when the payload does not fit a 512-byte buffer with its 16-byte header. Nothing was
    /// sent.
    #[error("Linux refused a {len}-byte RPMsg payload with EMSGSIZE (at most {max} bytes fit)")]
    Refused {
        /// Payload length in bytes.
        len: usize,
        /// Largest payload in bytes (496).
        max: usize,
    },
    /// An OS error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
