//! One error type for every API of this crate, mapped from Zephyr errno values and OpenAMP
//! `RPMSG_ERR_*` codes.

use core::fmt;

use zephyr::raw;

/// Result of this crate's APIs.
pub type Result<T> = core::result::Result<T, Error>;

/// Errors of the RPMsg, IPM and I2C APIs.
///
/// Each variant names the C code it comes from; [`Error::from_rpmsg`] and
/// [`Error::from_errno`] do the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A payload longer than the link carries; nothing was sent. `max` is the buffer size minus
    /// the 16-byte RPMsg header (496 bytes with 512-byte buffers), or the IPM device's
    /// `max_data_size` (bytes). OpenAMP `RPMSG_ERR_BUFF_SIZE`, Zephyr `-EMSGSIZE`.
    MessageTooLarge {
        /// Bytes asked for.
        len: usize,
        /// Largest payload in bytes.
        max: usize,
    },
    /// No buffer or no message now and the call must not wait (OpenAMP `RPMSG_ERR_NO_BUFF`,
    /// Zephyr `-EBUSY` from a `K_NO_WAIT` take).
    WouldBlock,
    /// The timeout passed before a buffer or message came (Zephyr `-EAGAIN`).
    TimedOut,
    /// The endpoint has no destination yet: the host has not sent to it or bound it
    /// (OpenAMP `RPMSG_ERR_ADDR`).
    NoDestination,
    /// The endpoint is not bound to an RPMsg device (or is a callback endpoint, for
    /// [`crate::rpmsg::Endpoint::recv`]).
    NotBound,
    /// No Linux drives the vdev now: not started yet, or a new Linux reset it and the link has
    /// not come up again ([`crate::rpmsg::Rpmsg::is_up`]). Nothing was sent.
    LinkDown,
    /// An IPM channel id above the device's maximum ([`crate::ipm::Ipm::max_id`]).
    InvalidId {
        /// Id asked for.
        id: u32,
        /// Largest valid id.
        max: u32,
    },
    /// The device is not ready (`device_is_ready()` false, Zephyr `-ENODEV`).
    DeviceNotReady,
    /// [`crate::rpmsg::Rpmsg::init`] or a bind ran twice.
    AlreadyInitialized,
    /// OpenAMP `RPMSG_ERR_NO_MEM`: no endpoint or buffer memory.
    NoMemory,
    /// OpenAMP `RPMSG_ERR_PARAM` or Zephyr `-EINVAL`: an argument OpenAMP or the driver refused.
    InvalidParam,
    /// OpenAMP `RPMSG_ERR_DEV_STATE`: the vdev is not in a state that allows this.
    DeviceState,
    /// OpenAMP `RPMSG_ERR_INIT`: virtio/vring initialisation failed.
    Init,
    /// OpenAMP `RPMSG_ERR_PERM`: operation not permitted on this endpoint.
    Permission,
    /// OpenAMP `RPMSG_EOPNOTSUPP` or Zephyr `-ENOSYS`/`-ENOTSUP`.
    NotSupported,
    /// Zephyr `-EBUSY` from a driver: the hardware is busy (an MU channel still full).
    Busy,
    /// Zephyr `-EIO`: bus or transfer error.
    Io,
    /// Any other negative Zephyr errno, as its positive value.
    Errno(i32),
}

impl Error {
    /// Maps a negative OpenAMP return code (`RPMSG_ERR_*`, or a negative errno from
    /// libmetal/Zephyr) to an [`Error`].
    pub fn from_rpmsg(code: i32) -> Self {
        use rpmsg_proto::openamp::RpmsgErr as R;
        match R::from_code(code) {
            Some(R::NoMem) => Error::NoMemory,
            Some(R::NoBuff) => Error::WouldBlock,
            Some(R::Param) => Error::InvalidParam,
            Some(R::DevState) => Error::DeviceState,
            Some(R::BuffSize) => Error::MessageTooLarge { len: 0, max: 0 },
            Some(R::Init) => Error::Init,
            Some(R::Addr) => Error::NoDestination,
            Some(R::Perm) => Error::Permission,
            Some(R::NotSupported) => Error::NotSupported,
            None => Self::from_errno(code),
        }
    }

    /// Maps a negative Zephyr errno to an [`Error`].
    pub fn from_errno(code: i32) -> Self {
        let e = code.unsigned_abs();
        match e {
            raw::EAGAIN => Error::TimedOut,
            raw::EBUSY => Error::Busy,
            raw::EINVAL => Error::InvalidParam,
            raw::ENODEV => Error::DeviceNotReady,
            raw::EIO => Error::Io,
            raw::ENOSYS | raw::ENOTSUP => Error::NotSupported,
            raw::EMSGSIZE => Error::MessageTooLarge { len: 0, max: 0 },
            raw::ENOMEM => Error::NoMemory,
            _ => Error::Errno(e as i32),
        }
    }

    /// `Ok(value)` for a non-negative OpenAMP return, else the mapped error.
    pub(crate) fn check_rpmsg(code: i32) -> Result<i32> {
        if code < 0 {
            Err(Self::from_rpmsg(code))
        } else {
            Ok(code)
        }
    }

    /// `Ok(value)` for a non-negative Zephyr return, else the mapped error.
    pub(crate) fn check_errno(code: i32) -> Result<i32> {
        if code < 0 {
            Err(Self::from_errno(code))
        } else {
            Ok(code)
        }
    }
}

impl From<rpmsg_proto::PayloadTooLarge> for Error {
    fn from(e: rpmsg_proto::PayloadTooLarge) -> Self {
        Error::MessageTooLarge {
            len: e.len,
            max: e.max,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::MessageTooLarge { len, max } => {
                write!(
                    f,
                    "message of {len} bytes exceeds the maximum of {max} bytes"
                )
            }
            Error::InvalidId { id, max } => write!(f, "IPM id {id} above the maximum {max}"),
            Error::Errno(e) => write!(f, "Zephyr errno {e}"),
            other => fmt::Debug::fmt(&other, f),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match self {
            Error::MessageTooLarge { .. } | Error::InvalidParam | Error::InvalidId { .. } => {
                K::InvalidInput
            }
            Error::TimedOut | Error::WouldBlock => K::TimedOut,
            Error::NoDestination | Error::NotBound | Error::LinkDown => K::NotConnected,
            Error::NoMemory => K::OutOfMemory,
            Error::Permission => K::PermissionDenied,
            Error::NotSupported => K::Unsupported,
            _ => K::Other,
        }
    }
}
