//! mcore-rs IMU streaming, shared by the firmware (`samples/imu`) and Linux (`imu-logger`).
//!
//! * [`wire`]: the messages on the `mcore-imu` RPMsg channel, versioned, little-endian, fixed
//!   layout (zerocopy).
//! * [`buffer`]: the firmware's 300-entry sample buffer: frees only acknowledged samples, drops
//!   the oldest when full and counts every drop.
//! * [`receiver`]: the Linux side: keeps every sequence number once and in order, reports gaps,
//!   and tells a firmware restart (a new boot id) from duplicates.
//!
//! Sequence numbers are `u32`, start over at every firmware boot (told apart by the boot id, see
//! [`wire`]) and wrap; they are compared with serial-number arithmetic (RFC 1982): `a` is after
//! `b` when `a.wrapping_sub(b) as i32 > 0`.

#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub mod buffer;
pub mod receiver;
pub mod wire;

/// `true` when sequence number `a` comes after `b` (RFC 1982 serial arithmetic on `u32`).
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
