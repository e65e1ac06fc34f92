//! The `mcore-imu` channel's messages (format version 1). All fields little-endian.
//!
//! Linux → firmware: [`Control`], 16 bytes.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `version` = 1 |
//! | 1 | 1 | `kind`: 1 start, 2 stop, 3 heartbeat, 4 ack |
//! | 2 | 2 | reserved, 0 |
//! | 4 | 4 | `arg`: start → heartbeat timeout in ms (0: firmware default); ack → sequence number acknowledged (this one and all before it) |
//! | 8 | 8 | reserved, 0 |
//!
//! Firmware → Linux: a [`BatchHeader`] (16 bytes) followed by `count` [`Sample`]s (20 bytes
//! each); at most [`MAX_BATCH`] samples, 216 bytes, within RPMsg's 496-byte payload.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `version` = 1 |
//! | 1 | 1 | `kind` = 0x81 batch |
//! | 2 | 1 | `count` |
//! | 3 | 1 | reserved |
//! | 4 | 4 | `dropped_total`: samples the firmware dropped unacknowledged since boot |
//! | 8 | 2 | `buffered`: samples in the firmware buffer |
//! | 10 | 4 | `dropped_unsent`: the part of `dropped_total` that was never sent (certainly lost) |
//! | 14 | 2 | reserved |
//!
//! [`Sample`]: `seq` u32, `timestamp_ms` u32 (firmware uptime), `accel` f32 (m/s²), `mag` f32
//! (µT), `gyro` f32 (dps): the Euclidean norms of the three sensor vectors.

use core::fmt;

use zerocopy::little_endian::{F32, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Format version of every message.
pub const VERSION: u8 = 1;
/// Samples per batch at most.
pub const MAX_BATCH: usize = 10;
/// RPMsg service name the firmware announces.
pub const SERVICE: &str = "mcore-imu";

/// Kinds of [`Control`] messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Start streaming; heartbeat timeout in ms (0: the firmware's default).
    Start {
        /// Heartbeat timeout in ms.
        heartbeat_timeout_ms: u32,
    },
    /// Stop streaming (sampling and buffering go on).
    Stop,
    /// Linux is alive.
    Heartbeat,
    /// Every sample up to and including `seq` is stored on Linux; the firmware may free them.
    Ack {
        /// Last acknowledged sequence number.
        seq: u32,
    },
}

/// A control message, 16 bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Control {
    /// [`VERSION`].
    pub version: u8,
    /// 1 start, 2 stop, 3 heartbeat, 4 ack.
    pub kind: u8,
    /// Reserved, 0.
    pub reserved: U16,
    /// Argument (see the module table).
    pub arg: U32,
    /// Reserved, 0.
    pub reserved2: [U32; 2],
}

/// The header of a batch, 16 bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct BatchHeader {
    /// [`VERSION`].
    pub version: u8,
    /// 0x81.
    pub kind: u8,
    /// Samples that follow, 1..=10.
    pub count: u8,
    /// Reserved, 0.
    pub reserved: u8,
    /// Samples dropped unacknowledged since boot (buffer full).
    pub dropped_total: U32,
    /// Samples in the firmware's buffer when the batch was sent.
    pub buffered: U16,
    /// Part of `dropped_total` that was never sent: lost for certain. The rest had been sent
    /// without being acknowledged, so Linux may hold them.
    pub dropped_unsent: U32,
    /// Reserved, 0.
    pub reserved2: [u8; 2],
}

/// One sample, 20 bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Sample {
    /// Sequence number, +1 per sample, wrapping.
    pub seq: U32,
    /// Firmware uptime in ms when the sensors were read.
    pub timestamp_ms: U32,
    /// |acceleration| in m/s².
    pub accel: F32,
    /// |magnetic field| in µT.
    pub mag: F32,
    /// |angular rate| in dps.
    pub gyro: F32,
}

/// Kind byte of a batch.
pub const KIND_BATCH: u8 = 0x81;

/// A message that is not a valid version-1 message. Nothing was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its fixed layout; carries the length in bytes.
    Truncated(usize),
    /// A `version` other than 1.
    Version(u8),
    /// An unknown `kind`.
    Kind(u8),
    /// A batch `count` of 0, above 10, or not matching the length.
    Count(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated(n) => write!(f, "IMU message of {n} bytes is truncated"),
            WireError::Version(v) => write!(f, "IMU message version {v}, expected {VERSION}"),
            WireError::Kind(k) => write!(f, "unknown IMU message kind {k:#04x}"),
            WireError::Count(c) => write!(f, "bad IMU batch count {c}"),
        }
    }
}

impl core::error::Error for WireError {}

impl Command {
    /// Encodes the command.
    pub fn encode(self) -> Control {
        let (kind, arg) = match self {
            Command::Start {
                heartbeat_timeout_ms,
            } => (1, heartbeat_timeout_ms),
            Command::Stop => (2, 0),
            Command::Heartbeat => (3, 0),
            Command::Ack { seq } => (4, seq),
        };
        Control {
            version: VERSION,
            kind,
            reserved: 0.into(),
            arg: arg.into(),
            reserved2: [0.into(); 2],
        }
    }

    /// Decodes a control message.
    ///
    /// # Errors
    /// [`WireError`] for a short message, another version or an unknown kind.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (c, _) =
            Control::ref_from_prefix(bytes).map_err(|_| WireError::Truncated(bytes.len()))?;
        if c.version != VERSION {
            return Err(WireError::Version(c.version));
        }
        let arg = c.arg.get();
        Ok(match c.kind {
            1 => Command::Start {
                heartbeat_timeout_ms: arg,
            },
            2 => Command::Stop,
            3 => Command::Heartbeat,
            4 => Command::Ack { seq: arg },
            k => return Err(WireError::Kind(k)),
        })
    }
}

/// Writes a batch of `samples` (1..=10) into `out`; returns the length in bytes.
///
/// # Panics
/// When `samples` is empty or longer than [`MAX_BATCH`], or `out` is shorter than
/// `16 + 20 × samples.len()` bytes (programming errors of the caller).
pub fn encode_batch(
    out: &mut [u8],
    samples: &[Sample],
    dropped_total: u32,
    dropped_unsent: u32,
    buffered: u16,
) -> usize {
    assert!(
        (1..=MAX_BATCH).contains(&samples.len()),
        "batch of {} samples",
        samples.len()
    );
    let h = BatchHeader {
        version: VERSION,
        kind: KIND_BATCH,
        count: samples.len() as u8,
        reserved: 0,
        dropped_total: dropped_total.into(),
        buffered: buffered.into(),
        dropped_unsent: dropped_unsent.into(),
        reserved2: [0; 2],
    };
    out[..16].copy_from_slice(h.as_bytes());
    let body = samples.as_bytes();
    out[16..16 + body.len()].copy_from_slice(body);
    16 + body.len()
}

/// Parses a batch.
///
/// # Errors
/// [`WireError`] when the header or the samples do not fit, or version, kind or count are wrong.
pub fn decode_batch(bytes: &[u8]) -> Result<(&BatchHeader, &[Sample]), WireError> {
    let (h, rest) =
        BatchHeader::ref_from_prefix(bytes).map_err(|_| WireError::Truncated(bytes.len()))?;
    if h.version != VERSION {
        return Err(WireError::Version(h.version));
    }
    if h.kind != KIND_BATCH {
        return Err(WireError::Kind(h.kind));
    }
    let n = h.count as usize;
    if n == 0 || n > MAX_BATCH || rest.len() != n * core::mem::size_of::<Sample>() {
        return Err(WireError::Count(h.count));
    }
    let samples = <[Sample]>::ref_from_bytes(rest).map_err(|_| WireError::Count(h.count))?;
    Ok((h, samples))
}

impl Sample {
    /// A sample.
    pub fn new(seq: u32, timestamp_ms: u32, accel: f32, mag: f32, gyro: f32) -> Self {
        Self {
            seq: seq.into(),
            timestamp_ms: timestamp_ms.into(),
            accel: accel.into(),
            mag: mag.into(),
            gyro: gyro.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_fixed() {
        assert_eq!(core::mem::size_of::<Control>(), 16);
        assert_eq!(core::mem::size_of::<BatchHeader>(), 16);
        assert_eq!(core::mem::size_of::<Sample>(), 20);
        let c = Command::Ack { seq: 0x0102_0304 }.encode();
        assert_eq!(
            c.as_bytes(),
            &[1, 4, 0, 0, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let s = Sample::new(7, 1000, 9.80665, 44.7, 0.0);
        assert_eq!(&s.as_bytes()[..8], &[7, 0, 0, 0, 0xe8, 3, 0, 0]);
        assert_eq!(&s.as_bytes()[8..12], &9.80665f32.to_le_bytes());
    }

    #[test]
    fn commands_round_trip() {
        for c in [
            Command::Start {
                heartbeat_timeout_ms: 1000,
            },
            Command::Stop,
            Command::Heartbeat,
            Command::Ack { seq: u32::MAX },
        ] {
            assert_eq!(Command::decode(c.encode().as_bytes()), Ok(c));
        }
    }

    #[test]
    fn bad_control_messages_are_refused() {
        let mut b = Command::Stop.encode();
        assert_eq!(
            Command::decode(&b.as_bytes()[..15]),
            Err(WireError::Truncated(15))
        );
        b.version = 2;
        assert_eq!(Command::decode(b.as_bytes()), Err(WireError::Version(2)));
        b.version = 1;
        b.kind = 9;
        assert_eq!(Command::decode(b.as_bytes()), Err(WireError::Kind(9)));
    }

    #[test]
    fn batch_round_trip_and_limits() {
        let samples: std::vec::Vec<_> = (0..10)
            .map(|i| Sample::new(i, i * 10, 9.8, 45.0, 1.5))
            .collect();
        let mut buf = [0u8; 496];
        let n = encode_batch(&mut buf, &samples, 3, 2, 42);
        assert_eq!(n, 216);
        let (h, s) = decode_batch(&buf[..n]).unwrap();
        assert_eq!(
            (
                h.count,
                h.dropped_total.get(),
                h.dropped_unsent.get(),
                h.buffered.get()
            ),
            (10, 3, 2, 42)
        );
        assert_eq!(&buf[10..14], &2u32.to_le_bytes());
        assert_eq!(s, &samples[..]);
        assert_eq!(decode_batch(&buf[..n - 1]), Err(WireError::Count(10)));
        assert_eq!(decode_batch(&buf[..10]), Err(WireError::Truncated(10)));
        buf[2] = 11;
        assert_eq!(decode_batch(&buf[..n]), Err(WireError::Count(11)));
        buf[2] = 10;
        buf[1] = 0x82;
        assert_eq!(decode_batch(&buf[..n]), Err(WireError::Kind(0x82)));
        buf[0] = 0;
        assert_eq!(decode_batch(&buf[..n]), Err(WireError::Version(0)));
    }

    #[test]
    #[should_panic(expected = "batch of 11 samples")]
    fn oversized_batch_is_a_caller_bug() {
        let s = [Sample::new(0, 0, 0.0, 0.0, 0.0); 11];
        encode_batch(&mut [0u8; 496], &s, 0, 0, 0);
    }
}
