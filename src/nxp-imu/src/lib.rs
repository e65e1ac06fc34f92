//! Drivers for the [Adafruit Precision NXP 9-DOF breakout] (product 3463):
//!
//! * [`Fxos8700`] — FXOS8700CQ 3-axis accelerometer + 3-axis magnetometer,
//!   I2C address [`FXOS8700_ADDR_ADAFRUIT`] (`0x1F`) on that board.
//!   Datasheet: *FXOS8700CQ, Rev. 8 — 25 April 2017* (register map §14,
//!   accelerometer sensitivity Table 5, magnetometer sensitivity Table 7).
//! * [`Fxas21002`] — FXAS21002C 3-axis gyroscope, I2C address
//!   [`FXAS21002_ADDR_ADAFRUIT`] (`0x21`) on that board.
//!   Datasheet: *FXAS21002C, Rev. 2.1* (register map §13, sensitivity
//!   Table 3 and §13.8 CTRL_REG0).
//!
//! Both drivers are generic over [`embedded_hal::i2c::I2c`] (embedded-hal
//! 1.0), `no_std`, without allocation and without `unsafe`. Each one owns its
//! bus handle; to put both chips on one bus, hand each a shared-bus wrapper
//! (for example `embedded_hal_bus::i2c::RefCellDevice`) or call
//! [`Fxos8700::release`] / [`Fxas21002::release`] to get the bus back.
//!
//! Units returned:
//!
//! | quantity          | unit   | where                                  |
//! |-------------------|--------|----------------------------------------|
//! | acceleration      | m/s²   | [`AccelMag::accel`]                    |
//! | magnetic field    | µT     | [`AccelMag::mag`]                      |
//! | angular rate      | °/s    | [`AngularRate::dps`]                   |
//! | angular rate      | rad/s  | [`AngularRate::rad_per_s`]             |
//!
//! ```
//! # use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
//! use nxp_imu::{AccelRange, Fxas21002, Fxos8700, GyroOdr, GyroRange, Odr};
//! # let i2c_a = Mock::new(&[
//! #     Transaction::write_read(0x1F, vec![0x0D], vec![0xC7]),
//! #     Transaction::write(0x1F, vec![0x2A, 0x00]),
//! #     Transaction::write(0x1F, vec![0x0E, 0x00]),
//! #     Transaction::write(0x1F, vec![0x5B, 0x1F]),
//! #     Transaction::write(0x1F, vec![0x5C, 0x20]),
//! #     Transaction::write(0x1F, vec![0x2A, 0x19]),
//! #     Transaction::write_read(0x1F, vec![0x00],
//! #         vec![0xFF, 0, 0, 0, 0, 0x40, 0, 0x01, 0xF4, 0, 0, 0xFE, 0x0C]),
//! # ]);
//! # let i2c_g = Mock::new(&[
//! #     Transaction::write_read(0x21, vec![0x0C], vec![0xD7]),
//! #     Transaction::write(0x21, vec![0x13, 0x00]),
//! #     Transaction::write(0x21, vec![0x0D, 0x03]),
//! #     Transaction::write(0x21, vec![0x13, 0x0E]),
//! #     Transaction::write_read(0x21, vec![0x00], vec![0x0F, 0, 0, 0, 0, 0x03, 0x20]),
//! # ]);
//! let mut accel_mag = Fxos8700::new(i2c_a, nxp_imu::FXOS8700_ADDR_ADAFRUIT);
//! accel_mag.probe()?;
//! // 100 Hz per sensor in the DR table; hybrid mode gives 50 Hz for each.
//! accel_mag.configure(AccelRange::G2, Odr::Hz100)?;
//! let s = accel_mag.read()?;
//! assert!((s.accel[2] - 9.80665).abs() < 0.01); // m/s²
//! assert!((s.mag[0] - 50.0).abs() < 1e-3); // µT
//!
//! let mut gyro = Fxas21002::new(i2c_g, nxp_imu::FXAS21002_ADDR_ADAFRUIT);
//! gyro.probe()?;
//! gyro.configure(GyroRange::Dps250, GyroOdr::Hz100)?;
//! let w = gyro.read()?;
//! assert!((w.dps[2] - 6.25).abs() < 1e-4); // °/s
//! # accel_mag.release().done();
//! # gyro.release().done();
//! # Ok::<(), nxp_imu::Error<embedded_hal::i2c::ErrorKind>>(())
//! ```
//!
//! [Adafruit Precision NXP 9-DOF breakout]: https://www.adafruit.com/product/3463

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::fmt;

pub mod fxas21002;
pub mod fxos8700;

pub use fxas21002::{
    AngularRate, Fxas21002, GyroOdr, GyroRange, FXAS21002_ADDR_ADAFRUIT, FXAS21002_WHO_AM_I,
};
pub use fxos8700::{
    AccelMag, AccelRange, Fxos8700, Odr, FXOS8700_ADDR_ADAFRUIT, FXOS8700_WHO_AM_I,
};

/// Standard gravity g₀ in m/s² (ISO 80000-3), used to turn the FXOS8700CQ's
/// mg/LSB sensitivity into m/s².
pub const STANDARD_GRAVITY: f32 = 9.806_65;

/// Errors of both drivers. `E` is the bus's [`ErrorType::Error`](embedded_hal::i2c::ErrorType::Error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    /// The I2C transfer failed; the bus error is passed through unchanged
    /// (for example an address NACK when nothing answers at that address:
    /// [`embedded_hal::i2c::ErrorKind::NoAcknowledge`]).
    I2c(E),
    /// The chip answered but its WHO_AM_I register held an unexpected value:
    /// another device sits at that address, or the wrong driver was used.
    /// `expected` is [`FXOS8700_WHO_AM_I`] (`0xC7`) or
    /// [`FXAS21002_WHO_AM_I`] (`0xD7`).
    WrongId {
        /// The WHO_AM_I value the datasheet specifies for the chip.
        expected: u8,
        /// The value that was read.
        found: u8,
    },
}

impl<E> Error<E> {
    /// The chip name this error is about, derived from the expected
    /// WHO_AM_I value (`None` for bus errors).
    fn device_name(&self) -> Option<&'static str> {
        match self {
            Error::WrongId { expected, .. } => Some(match *expected {
                FXOS8700_WHO_AM_I => "FXOS8700",
                FXAS21002_WHO_AM_I => "FXAS21002",
                _ => "device",
            }),
            Error::I2c(_) => None,
        }
    }
}

impl<E: embedded_hal::i2c::Error> Error<E> {
    /// The bus-independent [`embedded_hal::i2c::ErrorKind`] of an
    /// [`Error::I2c`], or `None` for [`Error::WrongId`].
    pub fn i2c_kind(&self) -> Option<embedded_hal::i2c::ErrorKind> {
        match self {
            Error::I2c(e) => Some(e.kind()),
            Error::WrongId { .. } => None,
        }
    }
}

impl<E: embedded_hal::i2c::Error> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::I2c(e) => write!(f, "I2C error: {} ({:?})", e.kind(), e),
            Error::WrongId { expected, found } => write!(
                f,
                "{} not found: WHO_AM_I {:#04X}, expected {:#04X}",
                self.device_name().unwrap_or("device"),
                found,
                expected
            ),
        }
    }
}

impl<E: embedded_hal::i2c::Error> core::error::Error for Error<E> {}

/// Euclidean norm √(x² + y² + z²) of a 3-vector, in the unit of its
/// components (e.g. m/s² for [`AccelMag::accel`], µT for [`AccelMag::mag`]).
pub fn norm(v: [f32; 3]) -> f32 {
    libm::sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
}

/// Reads one register: write its address, repeated START, read one byte.
pub(crate) fn read_reg<I: embedded_hal::i2c::I2c>(
    i2c: &mut I,
    address: u8,
    reg: u8,
) -> Result<u8, Error<I::Error>> {
    let mut b = [0u8; 1];
    i2c.write_read(address, &[reg], &mut b)
        .map_err(Error::I2c)?;
    Ok(b[0])
}

/// Writes one register: address byte, then the value.
pub(crate) fn write_reg<I: embedded_hal::i2c::I2c>(
    i2c: &mut I,
    address: u8,
    reg: u8,
    value: u8,
) -> Result<(), Error<I::Error>> {
    i2c.write(address, &[reg, value]).map_err(Error::I2c)
}

/// [`Error::WrongId`] unless the WHO_AM_I value `found` is `expected`.
pub(crate) fn check_id<E>(found: u8, expected: u8) -> Result<(), Error<E>> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::WrongId { expected, found })
    }
}

/// Big-endian (MSB first) 16-bit two's complement, as both chips send it.
#[inline]
fn be_i16(msb: u8, lsb: u8) -> i16 {
    i16::from_be_bytes([msb, lsb])
}
