//! FXOS8700CQ 6-axis accelerometer + magnetometer.
//!
//! Datasheet: *FXOS8700CQ — 6-axis sensor with integrated linear
//! accelerometer and magnetometer, Rev. 8 — 25 April 2017*. Register
//! descriptions: §14; accelerometer sensitivity: Table 5; magnetometer
//! sensitivity: Table 7.
//!
//! The driver runs the chip in **hybrid mode** (accelerometer and
//! magnetometer both active, sampled alternately) with
//! `hyb_autoinc_mode` set, so that one burst read of 13 bytes starting at
//! `STATUS` (0x00) returns the status byte, the accelerometer sample
//! (0x01–0x06) and — the address pointer jumping from 0x06 to 0x33 — the
//! magnetometer sample (0x33–0x38). Both samples therefore come from the
//! same I2C transfer.

use embedded_hal::i2c::I2c;

use crate::{be_i16, Error, STANDARD_GRAVITY};

/// 7-bit I2C address of the FXOS8700CQ on the Adafruit 9-DOF breakout
/// (both SA0 and SA1 pulled high). The other SA0/SA1 strappings give
/// 0x1C–0x1E.
pub const FXOS8700_ADDR_ADAFRUIT: u8 = 0x1F;

/// Value of the WHO_AM_I register (0x0D) of a production FXOS8700CQ
/// (datasheet §14, WHO_AM_I).
pub const FXOS8700_WHO_AM_I: u8 = 0xC7;

/// Register addresses used by this driver (datasheet §14, register map).
pub mod regs {
    /// STATUS (0x00): with `F_MODE` = 0 a mirror of DR_STATUS — data-ready
    /// and overwrite flags for the accelerometer (§14).
    pub const STATUS: u8 = 0x00;
    /// OUT_X_MSB (0x01): first of six accelerometer output bytes,
    /// X/Y/Z MSB then LSB, 14-bit left-justified two's complement (§14).
    pub const OUT_X_MSB: u8 = 0x01;
    /// WHO_AM_I (0x0D): device identification, reads
    /// [`FXOS8700_WHO_AM_I`](super::FXOS8700_WHO_AM_I) (§14).
    pub const WHO_AM_I: u8 = 0x0D;
    /// XYZ_DATA_CFG (0x0E): bits 1:0 `fs` = accelerometer full-scale range
    /// (00 = ±2 g, 01 = ±4 g, 10 = ±8 g); writable only in standby (§14).
    pub const XYZ_DATA_CFG: u8 = 0x0E;
    /// CTRL_REG1 (0x2A): `aslp_rate[7:6]`, `dr[5:3]`, `lnoise` (bit 2),
    /// `f_read` (bit 1), `active` (bit 0) (§14, CTRL_REG1).
    pub const CTRL_REG1: u8 = 0x2A;
    /// M_OUT_X_MSB (0x33): first of six magnetometer output bytes,
    /// X/Y/Z MSB then LSB, 16-bit two's complement (§14).
    pub const M_OUT_X_MSB: u8 = 0x33;
    /// M_CTRL_REG1 (0x5B): `m_acal` (7), `m_rst` (6), `m_ost` (5),
    /// `m_os[4:2]` oversampling, `m_hms[1:0]` sensor selection
    /// (00 accel only, 01 mag only, 11 hybrid) (§14, M_CTRL_REG1).
    pub const M_CTRL_REG1: u8 = 0x5B;
    /// M_CTRL_REG2 (0x5C): bit 5 `hyb_autoinc_mode` makes a burst read
    /// continue from 0x06 to 0x33 (§14, M_CTRL_REG2).
    pub const M_CTRL_REG2: u8 = 0x5C;
}

/// CTRL_REG1 bit 0: ACTIVE (0 = standby, 1 = active).
const CTRL_REG1_ACTIVE: u8 = 1 << 0;
/// M_CTRL_REG1: `m_os` = 0b111 (maximum magnetometer oversampling for the
/// ODR) | `m_hms` = 0b11 (hybrid mode, accelerometer and magnetometer).
const M_CTRL_REG1_HYBRID_OS7: u8 = (0b111 << 2) | 0b11;
/// M_CTRL_REG2 bit 5: `hyb_autoinc_mode`.
const M_CTRL_REG2_HYB_AUTOINC: u8 = 1 << 5;
/// Length of the hybrid burst read: STATUS + 6 accelerometer + 6 magnetometer bytes.
const BURST_LEN: usize = 13;
/// Magnetometer sensitivity, µT per LSB (datasheet Table 7: 0.1 µT/LSB).
const MAG_UT_PER_LSB: f32 = 0.1;

/// Accelerometer full-scale range, XYZ_DATA_CFG `fs` bits (datasheet §14;
/// sensitivity per range in Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccelRange {
    /// ±2 g, 0.244 mg/LSB (4096 LSB/g). The power-on default.
    #[default]
    G2,
    /// ±4 g, 0.488 mg/LSB (2048 LSB/g).
    G4,
    /// ±8 g, 0.976 mg/LSB (1024 LSB/g).
    G8,
}

impl AccelRange {
    /// The XYZ_DATA_CFG `fs[1:0]` value (00, 01, 10).
    pub const fn fs_bits(self) -> u8 {
        match self {
            AccelRange::G2 => 0b00,
            AccelRange::G4 => 0b01,
            AccelRange::G8 => 0b10,
        }
    }

    /// Sensitivity in mg per LSB of the 14-bit value (datasheet Table 5
    /// prints 0.244 / 0.488 / 0.976, which are 1/4096, 1/2048, 1/1024 g
    /// rounded; the exact powers of two are returned).
    pub fn mg_per_lsb(self) -> f32 {
        match self {
            AccelRange::G2 => 1000.0 / 4096.0,
            AccelRange::G4 => 1000.0 / 2048.0,
            AccelRange::G8 => 1000.0 / 1024.0,
        }
    }

    /// Sensitivity in m/s² per LSB of the 14-bit value
    /// ([`mg_per_lsb`](Self::mg_per_lsb) × 10⁻³ × [`STANDARD_GRAVITY`]).
    pub fn ms2_per_lsb(self) -> f32 {
        self.mg_per_lsb() * 1.0e-3 * STANDARD_GRAVITY
    }
}

/// Output data rate, CTRL_REG1 `dr[2:0]` (datasheet §14, CTRL_REG1
/// "System output data rate selection").
///
/// The variant names give the rate **of a single active sensor** as in the
/// datasheet table. [`Fxos8700::configure`] always uses hybrid mode, where
/// the accelerometer and magnetometer take turns, so each of them (and
/// therefore each new [`AccelMag`] sample) is updated at **half** that
/// rate: see [`hybrid_hz`](Self::hybrid_hz). E.g. [`Odr::Hz100`] gives a new
/// sample every 20 ms (50 Hz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Odr {
    /// dr = 000: 800 Hz single-sensor, 400 Hz hybrid.
    Hz800,
    /// dr = 001: 400 Hz single-sensor, 200 Hz hybrid.
    Hz400,
    /// dr = 010: 200 Hz single-sensor, 100 Hz hybrid.
    Hz200,
    /// dr = 011: 100 Hz single-sensor, 50 Hz hybrid.
    Hz100,
    /// dr = 100: 50 Hz single-sensor, 25 Hz hybrid.
    Hz50,
    /// dr = 101: 12.5 Hz single-sensor, 6.25 Hz hybrid.
    Hz12_5,
    /// dr = 110: 6.25 Hz single-sensor, 3.125 Hz hybrid.
    Hz6_25,
    /// dr = 111: 1.5625 Hz single-sensor, 0.78125 Hz hybrid.
    Hz1_5625,
}

impl Odr {
    /// The CTRL_REG1 `dr[2:0]` value (placed at bits 5:3).
    pub const fn dr_bits(self) -> u8 {
        match self {
            Odr::Hz800 => 0b000,
            Odr::Hz400 => 0b001,
            Odr::Hz200 => 0b010,
            Odr::Hz100 => 0b011,
            Odr::Hz50 => 0b100,
            Odr::Hz12_5 => 0b101,
            Odr::Hz6_25 => 0b110,
            Odr::Hz1_5625 => 0b111,
        }
    }

    /// The single-sensor output data rate in Hz (the datasheet table value).
    pub fn hz(self) -> f32 {
        match self {
            Odr::Hz800 => 800.0,
            Odr::Hz400 => 400.0,
            Odr::Hz200 => 200.0,
            Odr::Hz100 => 100.0,
            Odr::Hz50 => 50.0,
            Odr::Hz12_5 => 12.5,
            Odr::Hz6_25 => 6.25,
            Odr::Hz1_5625 => 1.5625,
        }
    }

    /// The rate, in Hz, at which each sensor is updated in hybrid mode
    /// (what [`Fxos8700::configure`] sets up): half of [`hz`](Self::hz).
    pub fn hybrid_hz(self) -> f32 {
        self.hz() / 2.0
    }
}

/// One accelerometer + magnetometer sample from [`Fxos8700::read`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AccelMag {
    /// The STATUS byte (0x00) read in the same burst: with `F_MODE` = 0 the
    /// accelerometer DR_STATUS (bit 3 `zyxdr` = new X/Y/Z data, bit 7
    /// `zyxow` = data overwritten before being read) (§14).
    pub status: u8,
    /// Acceleration X/Y/Z in m/s² (includes gravity: a board lying flat
    /// reads about +9.81 on Z).
    pub accel: [f32; 3],
    /// Magnetic flux density X/Y/Z in µT (Table 7: 0.1 µT/LSB, range
    /// ±1200 µT). Not hard-/soft-iron calibrated.
    pub mag: [f32; 3],
    /// Raw accelerometer counts X/Y/Z: the 14-bit two's complement value
    /// (already shifted right by 2), range −8192..=8191.
    pub accel_raw: [i16; 3],
    /// Raw magnetometer counts X/Y/Z: 16-bit two's complement.
    pub mag_raw: [i16; 3],
}

/// Driver for the FXOS8700CQ accelerometer + magnetometer on I2C.
#[derive(Debug)]
pub struct Fxos8700<I2C> {
    i2c: I2C,
    address: u8,
    range: AccelRange,
}

impl<I2C: I2c> Fxos8700<I2C> {
    /// Wraps a bus; `address` is the 7-bit I2C address
    /// ([`FXOS8700_ADDR_ADAFRUIT`] = 0x1F on the Adafruit board). No bus
    /// traffic. Until [`configure`](Self::configure) is called the driver
    /// assumes the power-on range ±2 g.
    pub fn new(i2c: I2C, address: u8) -> Self {
        Self {
            i2c,
            address,
            range: AccelRange::G2,
        }
    }

    /// The 7-bit I2C address this driver talks to.
    pub fn address(&self) -> u8 {
        self.address
    }

    /// The accelerometer range used to scale [`read`](Self::read) results.
    pub fn range(&self) -> AccelRange {
        self.range
    }

    /// Reads the WHO_AM_I register (0x0D, §14).
    pub fn who_am_i(&mut self) -> Result<u8, Error<I2C::Error>> {
        crate::read_reg(&mut self.i2c, self.address, regs::WHO_AM_I)
    }

    /// Checks that an FXOS8700CQ answers: WHO_AM_I must read
    /// [`FXOS8700_WHO_AM_I`] (0xC7), otherwise [`Error::WrongId`]. A missing
    /// chip shows up as [`Error::I2c`] (address NACK).
    pub fn probe(&mut self) -> Result<(), Error<I2C::Error>> {
        crate::check_id(self.who_am_i()?, FXOS8700_WHO_AM_I)
    }

    /// Puts the chip into hybrid (accelerometer + magnetometer) mode and
    /// starts sampling. Register writes, in this order (§14):
    ///
    /// 1. CTRL_REG1 (0x2A) ← 0x00: standby (the other writes need it);
    /// 2. XYZ_DATA_CFG (0x0E) ← `range.fs_bits()` (high-pass output off);
    /// 3. M_CTRL_REG1 (0x5B) ← 0x1F: `m_hms` = 11 hybrid, `m_os` = 111;
    /// 4. M_CTRL_REG2 (0x5C) ← 0x20: `hyb_autoinc_mode`;
    /// 5. CTRL_REG1 (0x2A) ← `odr.dr_bits() << 3 | 1`: ODR, normal 14-bit
    ///    reads (`f_read` = 0), `lnoise` = 0, ACTIVE.
    ///
    /// In hybrid mode each sensor is sampled at half the selected ODR (see
    /// [`Odr`]). The first sample is ready about 1/ODR after this returns.
    pub fn configure(&mut self, range: AccelRange, odr: Odr) -> Result<(), Error<I2C::Error>> {
        self.write_reg(regs::CTRL_REG1, 0x00)?;
        self.write_reg(regs::XYZ_DATA_CFG, range.fs_bits())?;
        self.write_reg(regs::M_CTRL_REG1, M_CTRL_REG1_HYBRID_OS7)?;
        self.write_reg(regs::M_CTRL_REG2, M_CTRL_REG2_HYB_AUTOINC)?;
        self.range = range;
        self.write_reg(regs::CTRL_REG1, (odr.dr_bits() << 3) | CTRL_REG1_ACTIVE)
    }

    /// Reads one accelerometer + magnetometer sample with a single 13-byte
    /// burst read from STATUS (0x00): status, OUT_X/Y/Z_MSB/LSB
    /// (0x01–0x06) and, through `hyb_autoinc_mode`, M_OUT_X/Y/Z_MSB/LSB
    /// (0x33–0x38). Requires [`configure`](Self::configure) first (without
    /// hybrid auto-increment the last six bytes would be other registers).
    ///
    /// Acceleration in m/s² (14-bit value × [`AccelRange::ms2_per_lsb`]),
    /// magnetic field in µT (16-bit value × 0.1 µT, Table 7).
    pub fn read(&mut self) -> Result<AccelMag, Error<I2C::Error>> {
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

/// Decodes the 13-byte hybrid burst.
fn decode(buf: &[u8; BURST_LEN], range: AccelRange) -> AccelMag {
    let mut out = AccelMag {
        status: buf[0],
        ..AccelMag::default()
    };
    let a_scale = range.ms2_per_lsb();
    for axis in 0..3 {
        // 14-bit left-justified: an arithmetic shift keeps the sign.
        let a = be_i16(buf[1 + 2 * axis], buf[2 + 2 * axis]) >> 2;
        let m = be_i16(buf[7 + 2 * axis], buf[8 + 2 * axis]);
        out.accel_raw[axis] = a;
        out.mag_raw[axis] = m;
        out.accel[axis] = f32::from(a) * a_scale;
        out.mag[axis] = f32::from(m) * MAG_UT_PER_LSB;
    }
    out
}
