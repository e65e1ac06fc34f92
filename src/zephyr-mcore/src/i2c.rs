//! I2C controller as an embedded-hal 1.0 [`embedded_hal::i2c::I2c`] over Zephyr's
//! `i2c_transfer()` (`zephyr/drivers/i2c.h`), so any embedded-hal sensor driver runs on it.
//!
//! Transactions follow embedded-hal's contract: adjacent operations of the same direction are
//! one transfer without a repeated start; a change of direction gets a repeated START
//! (`I2C_MSG_RESTART`); the last operation ends with STOP (`I2C_MSG_STOP`).

use core::ptr::NonNull;

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource, Operation, SevenBitAddress};

use crate::sys;

use zephyr_mcore_logic::i2c::msg_flags;
/// Operations one transaction may have (one `i2c_msg` each).
pub const MAX_OPERATIONS: usize = 8;

/// An I2C controller device.
pub struct I2c {
    dev: NonNull<sys::device>,
}

// SAFETY: Zephyr I2C drivers serialise transfers internally (a per-controller lock); the handle
// is a pointer to a static device.
unsafe impl Send for I2c {}

/// An I2C error: the Zephyr errno, classified as embedded-hal [`ErrorKind`].
///
/// Zephyr drivers report most failures as `-EIO` without saying whether the address or a data
/// byte was NACKed; the mapping is: `-ENXIO`/`-ENODEV` → NACK of the address, `-EIO` → NACK
/// (source unknown), `-EBUSY` → bus error, `-EAGAIN` → arbitration loss, anything else → other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I2cError {
    /// Negative errno from `i2c_transfer()`, or `-EINVAL` for more than [`MAX_OPERATIONS`]
    /// operations.
    pub errno: i32,
}

impl embedded_hal::i2c::Error for I2cError {
    fn kind(&self) -> ErrorKind {
        let e = self.errno.unsigned_abs();
        match e {
            zephyr::raw::ENXIO | zephyr::raw::ENODEV => {
                ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
            }
            zephyr::raw::EIO => ErrorKind::NoAcknowledge(NoAcknowledgeSource::Unknown),
            zephyr::raw::EBUSY => ErrorKind::Bus,
            zephyr::raw::EAGAIN => ErrorKind::ArbitrationLoss,
            _ => ErrorKind::Other,
        }
    }
}

impl core::fmt::Display for I2cError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use embedded_hal::i2c::Error;
        write!(
            f,
            "I2C transfer failed: errno {} ({:?})",
            self.errno,
            self.kind()
        )
    }
}

impl I2c {
    /// The controller behind the devicetree alias `imu-i2c` (the bus the IMU sample uses).
    ///
    /// # Errors
    /// [`crate::Error::DeviceNotReady`] without the alias or when the controller is not ready.
    pub fn alias_imu_i2c() -> crate::Result<Self> {
        // SAFETY: plain getter in mcore_i2c_shim.c: a static device or NULL.
        let dev = unsafe { sys::mcore_i2c_alias_imu_i2c() };
        // SAFETY: NULL or a static I2C controller from DEVICE_DT_GET.
        unsafe { Self::from_raw(dev as *mut sys::device) }
    }

    /// Wraps a raw controller pointer.
    ///
    /// # Safety
    /// `dev` must be NULL or a statically allocated Zephyr device implementing the I2C API.
    ///
    /// # Errors
    /// [`crate::Error::DeviceNotReady`] for NULL or a device that is not ready.
    pub unsafe fn from_raw(dev: *mut sys::device) -> crate::Result<Self> {
        let dev = NonNull::new(dev).ok_or(crate::Error::DeviceNotReady)?;
        // SAFETY: valid device per the contract.
        if !unsafe { zephyr::raw::device_is_ready(dev.as_ptr()) } {
            return Err(crate::Error::DeviceNotReady);
        }
        Ok(Self { dev })
    }
}

impl embedded_hal::i2c::ErrorType for I2c {
    type Error = I2cError;
}

impl embedded_hal::i2c::I2c<SevenBitAddress> for I2c {
    fn transaction(
        &mut self,
        address: SevenBitAddress,
        operations: &mut [Operation<'_>],
    ) -> Result<(), I2cError> {
        if operations.is_empty() {
            return Ok(());
        }
        if operations.len() > MAX_OPERATIONS {
            return Err(I2cError {
                errno: -(zephyr::raw::EINVAL as i32),
            });
        }
        let mut msgs: [sys::i2c_msg; MAX_OPERATIONS] = Default::default();
        let n = operations.len();
        let mut flags = [0u8; MAX_OPERATIONS];
        let reads = operations.iter().map(|op| matches!(op, Operation::Read(_)));
        for (f, v) in flags.iter_mut().zip(msg_flags(reads)) {
            *f = v;
        }
        for ((op, msg), flags) in operations.iter_mut().zip(msgs.iter_mut()).zip(flags) {
            let (buf, len) = match op {
                Operation::Read(b) => (b.as_mut_ptr(), b.len()),
                Operation::Write(b) => (b.as_ptr() as *mut u8, b.len()),
            };
            msg.buf = buf;
            msg.len = len as u32;
            msg.flags = flags;
        }
        // SAFETY: `msgs[..n]` point into `operations`' buffers, which outlive the call; the
        // driver writes only into read buffers; `n <= 8` fits u8.
        let rc = unsafe {
            sys::mcore_i2c_transfer(
                self.dev.as_ptr(),
                msgs.as_mut_ptr(),
                n as u8,
                address as u16,
            )
        };
        if rc < 0 {
            Err(I2cError { errno: rc })
        } else {
            Ok(())
        }
    }
}
