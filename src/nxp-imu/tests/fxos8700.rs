//! FXOS8700CQ driver against recorded register traffic (embedded-hal-mock).

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};
use nxp_imu::{norm, AccelRange, Error, Fxos8700, Odr, FXOS8700_ADDR_ADAFRUIT};

const A: u8 = 0x1F;
const G: f32 = 9.806_65;

fn run<R>(expect: &[T], f: impl FnOnce(&mut Fxos8700<Mock>) -> R) -> (R, Fxos8700<Mock>) {
    let mut dev = Fxos8700::new(Mock::new(expect), FXOS8700_ADDR_ADAFRUIT);
    let r = f(&mut dev);
    (r, dev)
}

fn finish(dev: Fxos8700<Mock>) {
    dev.release().done();
}

/// The five writes of `configure`, per the brief / datasheet §14.
fn configure_seq(fs: u8, ctrl_reg1: u8) -> Vec<T> {
    vec![
        T::write(A, vec![0x2A, 0x00]),
        T::write(A, vec![0x0E, fs]),
        T::write(A, vec![0x5B, 0x1F]),
        T::write(A, vec![0x5C, 0x20]),
        T::write(A, vec![0x2A, ctrl_reg1]),
    ]
}

fn burst(bytes: [u8; 13]) -> T {
    T::write_read(A, vec![0x00], bytes.to_vec())
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn address_constant_is_adafruit_board() {
    assert_eq!(FXOS8700_ADDR_ADAFRUIT, 0x1F);
}

#[test]
fn probe_ok() {
    let (r, dev) = run(&[T::write_read(A, vec![0x0D], vec![0xC7])], |d| d.probe());
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn probe_wrong_id_reports_clearly() {
    let (r, dev) = run(&[T::write_read(A, vec![0x0D], vec![0x00])], |d| d.probe());
    let err = r.unwrap_err();
    assert_eq!(
        err,
        Error::WrongId {
            expected: 0xC7,
            found: 0x00
        }
    );
    assert_eq!(
        err.to_string(),
        "FXOS8700 not found: WHO_AM_I 0x00, expected 0xC7"
    );
    assert_eq!(err.i2c_kind(), None);
    finish(dev);
}

#[test]
fn probe_finds_gyro_id_instead() {
    // The FXAS21002C's id at the FXOS8700 address: wrong chip.
    let (r, dev) = run(&[T::write_read(A, vec![0x0D], vec![0xD7])], |d| d.probe());
    assert_eq!(
        r.unwrap_err().to_string(),
        "FXOS8700 not found: WHO_AM_I 0xD7, expected 0xC7"
    );
    finish(dev);
}

#[test]
fn probe_nack_is_i2c_error() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let (r, dev) = run(
        &[T::write_read(A, vec![0x0D], vec![0x00]).with_error(nack)],
        |d| d.probe(),
    );
    let err = r.unwrap_err();
    assert_eq!(err, Error::I2c(nack));
    assert_eq!(err.i2c_kind(), Some(nack));
    let msg = err.to_string();
    assert!(msg.starts_with("I2C error: "), "{msg}");
    assert!(msg.contains("address"), "{msg}");
    finish(dev);
}

#[test]
fn configure_2g_100hz() {
    // DR = 011 at bits 5:3, ACTIVE: 0b0001_1001.
    let (r, dev) = run(&configure_seq(0x00, 0x19), |d| {
        d.configure(AccelRange::G2, Odr::Hz100)
    });
    assert_eq!(r, Ok(()));
    assert_eq!(dev.range(), AccelRange::G2);
    finish(dev);
}

#[test]
fn configure_8g_800hz() {
    let (r, dev) = run(&configure_seq(0x02, 0x01), |d| {
        d.configure(AccelRange::G8, Odr::Hz800)
    });
    assert_eq!(r, Ok(()));
    assert_eq!(dev.range(), AccelRange::G8);
    finish(dev);
}

#[test]
fn configure_4g_slowest() {
    // DR = 111: 0b0011_1001.
    let (r, dev) = run(&configure_seq(0x01, 0x39), |d| {
        d.configure(AccelRange::G4, Odr::Hz1_5625)
    });
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn configure_12_5hz_bits() {
    // DR = 101: 0b0010_1001.
    let (r, dev) = run(&configure_seq(0x00, 0x29), |d| {
        d.configure(AccelRange::G2, Odr::Hz12_5)
    });
    assert_eq!(r, Ok(()));
    finish(dev);
}

#[test]
fn configure_stops_at_first_nack_and_keeps_range() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data);
    let (r, dev) = run(
        &[
            T::write(A, vec![0x2A, 0x00]),
            T::write(A, vec![0x0E, 0x02]).with_error(nack),
        ],
        |d| d.configure(AccelRange::G8, Odr::Hz50),
    );
    assert_eq!(r, Err(Error::I2c(nack)));
    assert_eq!(dev.range(), AccelRange::G2);
    finish(dev);
}

#[test]
fn odr_hybrid_rate_is_half() {
    assert_eq!(Odr::Hz800.hybrid_hz(), 400.0);
    assert_eq!(Odr::Hz100.hybrid_hz(), 50.0);
    assert_eq!(Odr::Hz1_5625.hybrid_hz(), 0.781_25);
    let bits: Vec<u8> = [
        Odr::Hz800,
        Odr::Hz400,
        Odr::Hz200,
        Odr::Hz100,
        Odr::Hz50,
        Odr::Hz12_5,
        Odr::Hz6_25,
        Odr::Hz1_5625,
    ]
    .iter()
    .map(|o| o.dr_bits())
    .collect();
    assert_eq!(bits, vec![0, 1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn read_one_g_on_z_at_2g() {
    let mut seq = configure_seq(0x00, 0x19);
    // status, accel X/Y/Z (Z = 0x4000 → 4096 counts), mag X/Y/Z = 50, 0, −40.5 µT.
    seq.push(burst([
        0x0F, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x01, 0xF4, 0x00, 0x00, 0xFE, 0x6B,
    ]));
    let (r, dev) = run(&seq, |d| {
        d.configure(AccelRange::G2, Odr::Hz100)?;
        d.read()
    });
    let s = r.unwrap();
    assert_eq!(s.status, 0x0F);
    assert_eq!(s.accel_raw, [0, 0, 4096]);
    assert_eq!(s.accel[0], 0.0);
    assert_eq!(s.accel[1], 0.0);
    assert!(close(s.accel[2], 9.8066, 0.01), "{}", s.accel[2]);
    assert!(close(norm(s.accel), G, 0.01));
    assert_eq!(s.mag_raw, [500, 0, -405]);
    assert!(close(s.mag[0], 50.0, 1e-4));
    assert_eq!(s.mag[1], 0.0);
    assert!(close(s.mag[2], -40.5, 1e-4), "{}", s.mag[2]);
    finish(dev);
}

#[test]
fn read_negative_values() {
    let mut seq = configure_seq(0x00, 0x11);
    seq.push(burst([
        0x00, // status
        0xC0, 0x00, // X: 0xC000 >> 2 = −4096 → −1 g
        0xFF, 0xFC, // Y: 0xFFFC >> 2 = −1 count
        0x80, 0x00, // Z: 0x8000 >> 2 = −8192 → −2 g (full scale)
        0x80, 0x00, // mag X: −32768 → −3276.8 µT
        0xFF, 0xFF, // mag Y: −1 → −0.1 µT
        0xFC, 0x18, // mag Z: −1000 → −100 µT
    ]));
    let (r, dev) = run(&seq, |d| {
        d.configure(AccelRange::G2, Odr::Hz200)?;
        d.read()
    });
    let s = r.unwrap();
    assert_eq!(s.accel_raw, [-4096, -1, -8192]);
    assert!(close(s.accel[0], -G, 0.01));
    assert!(close(s.accel[1], -G / 4096.0, 1e-6));
    assert!(close(s.accel[2], -2.0 * G, 0.01));
    assert_eq!(s.mag_raw, [-32768, -1, -1000]);
    assert!(close(s.mag[0], -3276.8, 1e-2));
    assert!(close(s.mag[1], -0.1, 1e-6));
    assert!(close(s.mag[2], -100.0, 1e-4));
    finish(dev);
}

#[test]
fn read_scales_with_range() {
    // 0x1000 >> 2 = 1024 counts: 0.25 g at ±2 g, 0.5 g at ±4 g, 1 g at ±8 g.
    let bytes = [0x08, 0x10, 0x00, 0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0];
    for (range, fs, g) in [
        (AccelRange::G2, 0x00, 0.25),
        (AccelRange::G4, 0x01, 0.5),
        (AccelRange::G8, 0x02, 1.0),
    ] {
        let mut seq = configure_seq(fs, 0x19);
        seq.push(burst(bytes));
        let (r, dev) = run(&seq, |d| {
            d.configure(range, Odr::Hz100)?;
            d.read()
        });
        let s = r.unwrap();
        for a in s.accel {
            assert!(close(a, g * G, 1e-3), "{range:?}: {a}");
        }
        finish(dev);
    }
}

#[test]
fn read_positive_full_scale() {
    let mut seq = configure_seq(0x00, 0x19);
    seq.push(burst([
        0x00, 0x7F, 0xFC, 0x00, 0x04, 0x00, 0x00, 0x7F, 0xFF, 0x00, 0x01, 0x00, 0x00,
    ]));
    let (r, dev) = run(&seq, |d| {
        d.configure(AccelRange::G2, Odr::Hz100)?;
        d.read()
    });
    let s = r.unwrap();
    assert_eq!(s.accel_raw, [8191, 1, 0]);
    assert!(close(s.accel[0], 8191.0 / 4096.0 * G, 1e-3));
    assert_eq!(s.mag_raw, [32767, 1, 0]);
    assert!(close(s.mag[0], 3276.7, 1e-2));
    finish(dev);
}

#[test]
fn read_without_configure_uses_power_on_range() {
    let (r, dev) = run(
        &[burst([0, 0x20, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
        |d| d.read(),
    );
    // 0x2000 >> 2 = 2048 counts = 0.5 g at ±2 g.
    assert!(close(r.unwrap().accel[0], 0.5 * G, 1e-3));
    finish(dev);
}

#[test]
fn read_nack_is_i2c_error() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let (r, dev) = run(
        &[T::write_read(A, vec![0x00], vec![0; 13]).with_error(nack)],
        |d| d.read(),
    );
    assert_eq!(r, Err(Error::I2c(nack)));
    finish(dev);
}

#[test]
fn bus_error_other_than_nack_passes_through() {
    let (r, dev) = run(
        &[T::write_read(A, vec![0x00], vec![0; 13]).with_error(ErrorKind::ArbitrationLoss)],
        |d| d.read(),
    );
    assert_eq!(r, Err(Error::I2c(ErrorKind::ArbitrationLoss)));
    finish(dev);
}

#[test]
fn sensitivities() {
    assert!(close(AccelRange::G2.mg_per_lsb(), 0.244, 0.001));
    assert!(close(AccelRange::G4.mg_per_lsb(), 0.488, 0.001));
    assert!(close(AccelRange::G8.mg_per_lsb(), 0.976, 0.001));
    assert!(close(AccelRange::G2.ms2_per_lsb() * 4096.0, G, 1e-4));
    assert_eq!(AccelRange::default(), AccelRange::G2);
}

#[test]
fn release_and_address() {
    let dev = Fxos8700::new(Mock::new(&[]), 0x1E);
    assert_eq!(dev.address(), 0x1E);
    dev.release().done();
}
