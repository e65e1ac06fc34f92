//! FXAS21002C driver against recorded register traffic (embedded-hal-mock).

use core::f32::consts::PI;

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};
use nxp_imu::{Error, Fxas21002, GyroOdr, GyroRange, FXAS21002_ADDR_ADAFRUIT};

const A: u8 = 0x21;

fn run<R>(expect: &[T], f: impl FnOnce(&mut Fxas21002<Mock>) -> R) -> (R, Fxas21002<Mock>) {
    let mut dev = Fxas21002::new(Mock::new(expect), FXAS21002_ADDR_ADAFRUIT);
    let r = f(&mut dev);
    (r, dev)
}

fn finish(dev: Fxas21002<Mock>) {
    dev.release().done();
}

/// The three writes of `configure`, per the brief / datasheet §13.
fn configure_seq(fs: u8, ctrl_reg1: u8) -> Vec<T> {
    vec![
        T::write(A, vec![0x13, 0x00]),
        T::write(A, vec![0x0D, fs]),
        T::write(A, vec![0x13, ctrl_reg1]),
    ]
}

fn burst(bytes: [u8; 7]) -> T {
    T::write_read(A, vec![0x00], bytes.to_vec())
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn address_constant_is_adafruit_board() {
    assert_eq!(FXAS21002_ADDR_ADAFRUIT, 0x21);
}

#[test]
fn probe_ok() {
    let (r, dev) = run(&[T::write_read(A, vec![0x0C], vec![0xD7])], |d| d.probe());
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn probe_wrong_id_reports_clearly() {
    let (r, dev) = run(&[T::write_read(A, vec![0x0C], vec![0xD1])], |d| d.probe());
    let err = r.unwrap_err();
    assert_eq!(
        err,
        Error::WrongId {
            expected: 0xD7,
            found: 0xD1
        }
    );
    assert_eq!(
        err.to_string(),
        "FXAS21002 not found: WHO_AM_I 0xD1, expected 0xD7"
    );
    finish(dev);
}

#[test]
fn probe_nack_is_i2c_error() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let (r, dev) = run(
        &[T::write_read(A, vec![0x0C], vec![0x00]).with_error(nack)],
        |d| d.probe(),
    );
    let err = r.unwrap_err();
    assert_eq!(err, Error::I2c(nack));
    assert_eq!(err.i2c_kind(), Some(nack));
    finish(dev);
}

#[test]
fn configure_250dps_100hz() {
    // DR = 011 at bits 4:2, ACTIVE (bit 1): 0b0000_1110.
    let (r, dev) = run(&configure_seq(0x03, 0x0E), |d| {
        d.configure(GyroRange::Dps250, GyroOdr::Hz100)
    });
    assert_eq!(r, Ok(()));
    assert_eq!(dev.range(), GyroRange::Dps250);
    finish(dev);
}

#[test]
fn configure_2000dps_800hz() {
    let (r, dev) = run(&configure_seq(0x00, 0x02), |d| {
        d.configure(GyroRange::Dps2000, GyroOdr::Hz800)
    });
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn configure_500dps_12_5hz() {
    // DR = 110: 0b0001_1010.
    let (r, dev) = run(&configure_seq(0x02, 0x1A), |d| {
        d.configure(GyroRange::Dps500, GyroOdr::Hz12_5)
    });
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn configure_1000dps_25hz() {
    // DR = 101: 0b0001_0110.
    let (r, dev) = run(&configure_seq(0x01, 0x16), |d| {
        d.configure(GyroRange::Dps1000, GyroOdr::Hz25)
    });
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn configure_nack_on_standby_write() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let (r, dev) = run(&[T::write(A, vec![0x13, 0x00]).with_error(nack)], |d| {
        d.configure(GyroRange::Dps250, GyroOdr::Hz100)
    });
    assert_eq!(r, Err(Error::I2c(nack)));
    assert_eq!(dev.range(), GyroRange::Dps2000);
    finish(dev);
}

#[test]
fn read_positive_and_negative_at_2000dps() {
    let mut seq = configure_seq(0x00, 0x02);
    seq.push(burst([
        0x0F, // status
        0x00, 0x10, // X: 16 → 1 dps
        0xFF, 0xF0, // Y: −16 → −1 dps
        0x80, 0x00, // Z: −32768 → −2048 dps
    ]));
    let (r, dev) = run(&seq, |d| {
        d.configure(GyroRange::Dps2000, GyroOdr::Hz800)?;
        d.read()
    });
    let s = r.unwrap();
    assert_eq!(s.status, 0x0F);
    assert_eq!(s.raw, [16, -16, -32768]);
    assert!(close(s.dps[0], 1.0, 1e-5));
    assert!(close(s.dps[1], -1.0, 1e-5));
    assert!(close(s.dps[2], -2048.0, 1e-2));
    finish(dev);
}

#[test]
fn read_250dps_full_scale() {
    let mut seq = configure_seq(0x03, 0x0E);
    seq.push(burst([0x00, 0x7F, 0xFF, 0x00, 0x80, 0xFF, 0x80]));
    let (r, dev) = run(&seq, |d| {
        d.configure(GyroRange::Dps250, GyroOdr::Hz100)?;
        d.read()
    });
    let s = r.unwrap();
    assert_eq!(s.raw, [32767, 128, -128]);
    assert!(close(s.dps[0], 32767.0 * 0.007_812_5, 1e-3));
    assert!(close(s.dps[1], 1.0, 1e-6));
    assert!(close(s.dps[2], -1.0, 1e-6));
    finish(dev);
}

#[test]
fn read_rad_per_s() {
    // ±1000 dps: 31.25 mdps/LSB; 5760 counts = 180 dps = π rad/s.
    let mut seq = configure_seq(0x01, 0x0A);
    seq.push(burst([0x00, 0x16, 0x80, 0xE9, 0x80, 0x00, 0x00]));
    let (r, dev) = run(&seq, |d| {
        d.configure(GyroRange::Dps1000, GyroOdr::Hz200)?;
        d.read()
    });
    let s = r.unwrap();
    assert_eq!(s.raw, [5760, -5760, 0]);
    assert!(close(s.dps[0], 180.0, 1e-3));
    let w = s.rad_per_s();
    assert!(close(w[0], PI, 1e-5));
    assert!(close(w[1], -PI, 1e-5));
    assert_eq!(w[2], 0.0);
    finish(dev);
}

#[test]
fn read_without_configure_uses_power_on_range() {
    let (r, dev) = run(&[burst([0, 0x03, 0xE8, 0, 0, 0, 0])], |d| d.read());
    // 1000 counts × 62.5 mdps = 62.5 dps.
    assert!(close(r.unwrap().dps[0], 62.5, 1e-4));
    finish(dev);
}

#[test]
fn read_nack_is_i2c_error() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data);
    let (r, dev) = run(
        &[T::write_read(A, vec![0x00], vec![0; 7]).with_error(nack)],
        |d| d.read(),
    );
    let err = r.unwrap_err();
    assert_eq!(err, Error::I2c(nack));
    assert!(err.to_string().starts_with("I2C error: "));
    finish(dev);
}

#[test]
fn sensitivities_and_rates() {
    assert_eq!(GyroRange::Dps2000.mdps_per_lsb(), 62.5);
    assert_eq!(GyroRange::Dps1000.mdps_per_lsb(), 31.25);
    assert_eq!(GyroRange::Dps500.mdps_per_lsb(), 15.625);
    assert_eq!(GyroRange::Dps250.mdps_per_lsb(), 7.8125);
    assert_eq!(GyroRange::default(), GyroRange::Dps2000);
    let rates: Vec<(u8, f32)> = [
        GyroOdr::Hz800,
        GyroOdr::Hz400,
        GyroOdr::Hz200,
        GyroOdr::Hz100,
        GyroOdr::Hz50,
        GyroOdr::Hz25,
        GyroOdr::Hz12_5,
    ]
    .iter()
    .map(|o| (o.dr_bits(), o.hz()))
    .collect();
    assert_eq!(
        rates,
        vec![
            (0, 800.0),
            (1, 400.0),
            (2, 200.0),
            (3, 100.0),
            (4, 50.0),
            (5, 25.0),
            (6, 12.5)
        ]
    );
}
