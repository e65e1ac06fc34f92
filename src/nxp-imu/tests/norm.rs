//! `nxp_imu::norm`.

use nxp_imu::norm;

#[test]
fn pythagorean() {
    assert_eq!(norm([3.0, 4.0, 0.0]), 5.0);
    assert_eq!(norm([2.0, 3.0, 6.0]), 7.0);
}

#[test]
fn zero_and_negative() {
    assert_eq!(norm([0.0, 0.0, 0.0]), 0.0);
    assert_eq!(norm([-3.0, 0.0, -4.0]), 5.0);
}

#[test]
fn gravity_split_over_axes() {
    let g = 9.806_65_f32;
    let c = g / 3.0_f32.sqrt();
    assert!((norm([c, -c, c]) - g).abs() < 1e-4);
}
