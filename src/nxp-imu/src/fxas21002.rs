//! FXAS21002C 3-axis angular rate gyroscope.
//!
//! Datasheet: *FXAS21002C — 3-axis digital angular rate gyroscope,
//! Rev. 2.1*. Register map: §13; sensitivity per range: Table 3 and §13.8
//! (CTRL_REG0).
//!
//! [`Fxas21002::read`] does one 7-byte burst read from STATUS (0x00): the
//! status byte and the X/Y/Z output registers (0x01–0x06), so the three axes
//! always belong to the same sample.

use embedded_hal::i2c::I2c;

use crate::{be_i16, Error};

/// 7-bit I2C address of the FXAS21002C on the Adafruit 9-DOF breakout
/// (SA0 high). With SA0 low the chip answers at 0x20.
pub const FXAS21002_ADDR_ADAFRUIT: u8 = 0x21;

/// Value of the WHO_AM_I register (0x0C) of a production FXAS21002C
/// (datasheet §13, WHO_AM_I).
pub const FXAS21002_WHO_AM_I: u8 = 0xD7;

/// Register addresses used by this driver (datasheet §13, register map).
pub mod regs {
    /// STATUS (0x00): with the FIFO off a mirror of DR_STATUS — data-ready
    /// and overwrite flags (§13).
    pub const STATUS: u8 = 0x00;
    /// OUT_X_MSB (0x01): first of six output bytes, X/Y/Z MSB then LSB,
    /// 16-bit two's complement (§13).
    pub const OUT_X_MSB: u8 = 0x01;
    /// WHO_AM_I (0x0C): device identification, reads
    /// [`FXAS21002_WHO_AM_I`](super::FXAS21002_WHO_AM_I) (§13).
    pub const WHO_AM_I: u8 = 0x0C;
    /// CTRL_REG0 (0x0D): `bw[7:6]`, `spiw` (5), `sel[4:3]`, `hpf_en` (2),
    /// `fs[1:0]` full-scale range; writable only in standby (§13.8).
    pub const CTRL_REG0: u8 = 0x0D;
    /// CTRL_REG1 (0x13): `rst` (6), `st` (5), `dr[4:2]` output data rate,
    /// `active` (1), `ready` (0) (§13, CTRL_REG1).
    pub const CTRL_REG1: u8 = 0x13;
}

/// CTRL_REG1 bit 1: ACTIVE (with READY = 0: 0 = standby, 1 = active).
const CTRL_REG1_ACTIVE: u8 = 1 << 1;
/// Length of the burst read: STATUS + X/Y/Z MSB, LSB.
const BURST_LEN: usize = 7;

/// Full-scale range, CTRL_REG0 `fs[1:0]` (datasheet §13.8; sensitivity in
/// Table 3). Assumes CTRL_REG3 `fs_double` = 0 (its reset value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GyroRange {
    /// ±2000 °/s, 62.5 mdps/LSB (fs = 00). The power-on default.
    #[default]
    Dps2000,
    /// ±1000 °/s, 31.25 mdps/LSB (fs = 01).
    Dps1000,
    /// ±500 °/s, 15.625 mdps/LSB (fs = 10).
    Dps500,
    /// ±250 °/s, 7.8125 mdps/LSB (fs = 11).
    Dps250,
}

impl GyroRange {
    /// The CTRL_REG0 `fs[1:0]` value.
    pub const fn fs_bits(self) -> u8 {
        match self {
            GyroRange::Dps2000 => 0b00,
            GyroRange::Dps1000 => 0b01,
            GyroRange::Dps500 => 0b10,
            GyroRange::Dps250 => 0b11,
        }
    }

    /// Sensitivity in millidegrees per second per LSB (Table 3).
    pub fn mdps_per_lsb(self) -> f32 {
        match self {
            GyroRange::Dps2000 => 62.5,
            GyroRange::Dps1000 => 31.25,
            GyroRange::Dps500 => 15.625,
            GyroRange::Dps250 => 7.8125,
        }
    }

    /// Sensitivity in degrees per second per LSB.
    pub fn dps_per_lsb(self) -> f32 {
        self.mdps_per_lsb() * 1.0e-3
    }
}

/// Output data rate, CTRL_REG1 `dr[2:0]` at bits 4:2 (datasheet §13,
/// CTRL_REG1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GyroOdr {
    /// dr = 000: 800 Hz.
    Hz800,
    /// dr = 001: 400 Hz.
    Hz400,
    /// dr = 010: 200 Hz.
    Hz200,
    /// dr = 011: 100 Hz.
    Hz100,
    /// dr = 100: 50 Hz.
    Hz50,
    /// dr = 101: 25 Hz.
    Hz25,
    /// dr = 110: 12.5 Hz (111 is also 12.5 Hz).
    Hz12_5,
}

impl GyroOdr {
    /// The CTRL_REG1 `dr[2:0]` value (placed at bits 4:2).
    pub const fn dr_bits(self) -> u8 {
        match self {
            GyroOdr::Hz800 => 0b000,
            GyroOdr::Hz400 => 0b001,
            GyroOdr::Hz200 => 0b010,
            GyroOdr::Hz100 => 0b011,
            GyroOdr::Hz50 => 0b100,
            GyroOdr::Hz25 => 0b101,
            GyroOdr::Hz12_5 => 0b110,
        }
    }

    /// The output data rate in Hz.
    pub fn hz(self) -> f32 {
        match self {
            GyroOdr::Hz800 => 800.0,
            GyroOdr::Hz400 => 400.0,
            GyroOdr::Hz200 => 200.0,
            GyroOdr::Hz100 => 100.0,
            GyroOdr::Hz50 => 50.0,
            GyroOdr::Hz25 => 25.0,
            GyroOdr::Hz12_5 => 12.5,
        }
    }
}

/// One gyroscope sample from [`Fxas21002::read`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AngularRate {
    /// The STATUS byte (0x00) read in the same burst: with the FIFO off
    /// DR_STATUS (bit 3 `zyxdr` = new X/Y/Z data, bit 7 `zyxow` = data
    /// overwritten before being read) (§13).
    pub status: u8,
    /// Angular rate X/Y/Z in degrees per second (°/s, "dps"), right-hand
    /// rule around each axis. Not bias-calibrated.
    pub dps: [f32; 3],
    /// Raw counts X/Y/Z: 16-bit two's complement.
    pub raw: [i16; 3],
}

impl AngularRate {
    /// Angular rate X/Y/Z in radians per second ([`dps`](Self::dps) × π/180).
    pub fn rad_per_s(&self) -> [f32; 3] {
        self.dps.map(f32::to_radians)
    }
}

/// Driver for the FXAS21002C gyroscope on I2C.
#[derive(Debug)]
pub struct Fxas21002<I2C> {
    i2c: I2C,
    address: u8,
    range: GyroRange,
}

impl<I2C: I2c> Fxas21002<I2C> {
    /// Wraps a bus; `address` is the 7-bit I2C address
    /// ([`FXAS21002_ADDR_ADAFRUIT`] = 0x21 on the Adafruit board). No bus
    /// traffic. Until [`configure`](Self::configure) is called the driver
    /// assumes the power-on range ±2000 °/s.
    pub fn new(i2c: I2C, address: u8) -> Self {
        Self {
            i2c,
            address,
            range: GyroRange::Dps2000,
        }
    }

    /// The 7-bit I2C address this driver talks to.
    pub fn address(&self) -> u8 {
        self.address
    }

    /// The full-scale range used to scale [`read`](Self::read) results.
    pub fn range(&self) -> GyroRange {
        self.range
    }

    /// Reads the WHO_AM_I register (0x0C, §13).
    pub fn who_am_i(&mut self) -> Result<u8, Error<I2C::Error>> {
        crate::read_reg(&mut self.i2c, self.address, regs::WHO_AM_I)
    }

    /// Checks that an FXAS21002C answers: WHO_AM_I must read
    /// [`FXAS21002_WHO_AM_I`] (0xD7), otherwise [`Error::WrongId`]. A
    /// missing chip shows up as [`Error::I2c`] (address NACK).
    pub fn probe(&mut self) -> Result<(), Error<I2C::Error>> {
        crate::check_id(self.who_am_i()?, FXAS21002_WHO_AM_I)
    }

    /// Sets range and data rate and starts sampling. Register writes, in
    /// this order (§13):
    ///
    /// 1. CTRL_REG1 (0x13) ← 0x00: standby (CTRL_REG0 is writable only
    ///    there);
    /// 2. CTRL_REG0 (0x0D) ← `range.fs_bits()` (bandwidth `bw` = 00, high-pass
    ///    filter off);
    /// 3. CTRL_REG1 (0x13) ← `odr.dr_bits() << 2 | 0x02`: ODR, ACTIVE.
    ///
    /// The standby → active transition takes 1/ODR + 60 ms (datasheet,
    /// CTRL_REG1 and mode transition timing); samples read before then are
    /// stale or zero. This driver does not wait (it has no delay source).
    pub fn configure(&mut self, range: GyroRange, odr: GyroOdr) -> Result<(), Error<I2C::Error>> {
        self.write_reg(regs::CTRL_REG1, 0x00)?;
        self.write_reg(regs::CTRL_REG0, range.fs_bits())?;
        self.range = range;
        self.write_reg(regs::CTRL_REG1, (odr.dr_bits() << 2) | CTRL_REG1_ACTIVE)
    }

    /// Reads one sample with a single 7-byte burst read from STATUS (0x00):
    /// status, OUT_X/Y/Z_MSB/LSB (0x01–0x06). Angular rate in °/s
    /// (16-bit value × [`GyroRange::dps_per_lsb`], Table 3); use
    /// [`AngularRate::rad_per_s`] for rad/s.
    pub fn read(&mut self) -> Result<AngularRate, Error<I2C::Error>> {
        let mut buf = [0u8; BURST_LEN];
        self.i2c
            .write_read(self.address, &[regs::STATUS], &mut buf)
            .map_err(Error::I2c)?;
        Ok(decode(&buf, self.range))
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }

    fn write_reg(&mut self, reg: u8, value: u8) -> Result<(), Error<I2C::Error>> {
        crate::write_reg(&mut self.i2c, self.address, reg, value)
    }
}

/// Decodes the 7-byte burst.
fn decode(buf: &[u8; BURST_LEN], range: GyroRange) -> AngularRate {
    let mut out = AngularRate {
        status: buf[0],
        ..AngularRate::default()
    };
    let scale = range.dps_per_lsb();
    for axis in 0..3 {
        let r = be_i16(buf[1 + 2 * axis], buf[2 + 2 * axis]);
        out.raw[axis] = r;
        out.dps[axis] = f32::from(r) * scale;
    }
    out
}
