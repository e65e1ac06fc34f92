//! The `mcore-imu` channel's messages (format version 2). All fields little-endian.
//!
//! Every message starts with its `version` byte, in every format version, so a message of
//! another version (version 1 included) is refused with [`WireError::Version`] whatever its
//! length.
//!
//! # Boot id
//!
//! The firmware picks a random, non-zero `boot_id` once per boot (Zephyr's `sys_rand32_get()`,
//! through [`boot_id`], which never yields 0) and puts it in every batch. Sequence numbers are
//! only meaningful within one boot: they start over when the firmware restarts, and Linux tells
//! the new stream from the old one by the boot id. **0 is not a valid boot id**; a batch or an
//! ack that carries 0 is refused with [`WireError::BootId`].
//!
//! # Linux → firmware: [`Control`], 16 bytes
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `version` = 2 |
//! | 1 | 1 | `kind`: 1 start, 2 stop, 3 heartbeat, 4 ack |
//! | 2 | 2 | reserved, 0 |
//! | 4 | 4 | `arg`: start → heartbeat timeout in ms (0: firmware default); ack → sequence number acknowledged (this one and all before it) |
//! | 8 | 4 | `boot_id`: ack → boot id of the batches acknowledged (non-zero); other kinds: 0 |
//! | 12 | 4 | reserved, 0 |
//!
//! An ack names its boot so that an ack meant for the previous boot (still in flight when the
//! firmware restarted) never frees samples of the new one: see
//! [`SampleBuffer::ack`](crate::buffer::SampleBuffer::ack).
//!
//! # Firmware → Linux: a [`BatchHeader`] (20 bytes) followed by `count` [`Sample`]s
//!
//! Samples are 20 bytes each; at most [`MAX_BATCH`] per batch, so a batch is at most
//! [`MAX_BATCH_LEN`] = 220 bytes, within RPMsg's 496-byte payload.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `version` = 2 |
//! | 1 | 1 | `kind` = 0x81 batch |
//! | 2 | 1 | `count`, 1..=10 |
//! | 3 | 1 | reserved, 0 |
//! | 4 | 4 | `boot_id`: non-zero, fixed for one firmware boot |
//! | 8 | 4 | `dropped_total`: samples the firmware dropped unacknowledged since boot |
//! | 12 | 4 | `dropped_unsent`: the part of `dropped_total` that was never sent (certainly lost) |
//! | 16 | 2 | `buffered`: samples in the firmware buffer |
//! | 18 | 2 | reserved, 0 |
//!
//! [`Sample`]: `seq` u32, `timestamp_ms` u32 (firmware uptime), `accel` f32 (m/s²), `mag` f32
//! (µT), `gyro` f32 (dps): the Euclidean norms of the three sensor vectors.

use core::fmt;
use core::num::NonZeroU32;

use zerocopy::little_endian::{F32, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Format version of every message.
pub const VERSION: u8 = 2;
/// Samples per batch at most.
pub const MAX_BATCH: usize = 10;
/// RPMsg service name the firmware announces.
pub const SERVICE: &str = "mcore-imu";
/// Kind byte of a batch.
pub const KIND_BATCH: u8 = 0x81;
/// Size of a [`Control`] message in bytes.
pub const CONTROL_LEN: usize = core::mem::size_of::<Control>();
/// Size of a [`BatchHeader`] in bytes.
pub const HEADER_LEN: usize = core::mem::size_of::<BatchHeader>();
/// Size of a [`Sample`] in bytes.
pub const SAMPLE_LEN: usize = core::mem::size_of::<Sample>();
/// Size in bytes of the largest batch: header and [`MAX_BATCH`] samples (220). The buffer
/// [`encode_batch`] writes into has exactly this size.
pub const MAX_BATCH_LEN: usize = HEADER_LEN + MAX_BATCH * SAMPLE_LEN;

/// RPMsg's payload: 512-byte buffers minus the 16-byte RPMsg header.
const RPMSG_PAYLOAD: usize = 496;
const _: () = assert!(MAX_BATCH_LEN <= RPMSG_PAYLOAD && MAX_BATCH <= u8::MAX as usize);

/// A boot id from a random number (Zephyr's `sys_rand32_get()`): `random` itself, or 1 when
/// `random` is 0, which is not a valid boot id.
pub const fn boot_id(random: u32) -> NonZeroU32 {
    match NonZeroU32::new(random) {
        Some(id) => id,
        None => NonZeroU32::MIN,
    }
}

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
    /// Every sample of boot `boot_id` up to and including `seq` is stored on Linux; the
    /// firmware may free them. A firmware whose boot id is not `boot_id` ignores the ack.
    Ack {
        /// Boot id of the batches acknowledged.
        boot_id: NonZeroU32,
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
    /// Ack: boot id of the batches acknowledged (non-zero). Other kinds: 0.
    pub boot_id: U32,
    /// Reserved, 0.
    pub reserved2: U32,
}

/// The header of a batch, 20 bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct BatchHeader {
    /// [`VERSION`].
    pub version: u8,
    /// [`KIND_BATCH`].
    pub kind: u8,
    /// Samples that follow, 1..=10.
    pub count: u8,
    /// Reserved, 0.
    pub reserved: u8,
    /// The firmware's boot id, non-zero, fixed for one boot.
    pub boot_id: U32,
    /// Samples dropped unacknowledged since boot (buffer full).
    pub dropped_total: U32,
    /// Part of `dropped_total` that was never sent: lost for certain. The rest had been sent
    /// without being acknowledged, so Linux may hold them.
    pub dropped_unsent: U32,
    /// Samples in the firmware's buffer when the batch was sent.
    pub buffered: U16,
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

/// The header fields of a batch besides its layout bookkeeping, in native types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    /// The firmware's boot id.
    pub boot_id: NonZeroU32,
    /// Samples dropped unacknowledged since boot (buffer full).
    pub dropped_total: u32,
    /// Part of `dropped_total` that was never sent: lost for certain.
    pub dropped_unsent: u32,
    /// Samples in the firmware's buffer when the batch was sent.
    pub buffered: u16,
}

/// A decoded batch: its header fields and its 1..=10 samples, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch<'a> {
    /// The header fields.
    pub info: BatchInfo,
    /// The samples, oldest first.
    pub samples: &'a [Sample],
}

/// A message that is not a valid version-2 message. Nothing was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its fixed layout; carries the length in bytes.
    Truncated(usize),
    /// A `version` other than [`VERSION`]: the firmware and Linux come from different releases
    /// (version 1 had no boot id).
    Version(u8),
    /// An unknown `kind`.
    Kind(u8),
    /// A batch `count` of 0, above 10, or not matching the length.
    Count(u8),
    /// A boot id of 0 in a batch or an ack.
    BootId,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated(n) => write!(f, "IMU message of {n} bytes is truncated"),
            WireError::Version(v) => write!(
                f,
                "IMU wire format version {v}, expected {VERSION}: \
                 the firmware and imu-logger are from different releases"
            ),
            WireError::Kind(k) => write!(f, "unknown IMU message kind {k:#04x}"),
            WireError::Count(c) => write!(f, "bad IMU batch count {c}"),
            WireError::BootId => write!(f, "IMU message with boot id 0 (not a valid boot id)"),
        }
    }
}

impl core::error::Error for WireError {}

/// Checks the version byte first: it is at offset 0 in every version of the format.
fn check_version(bytes: &[u8]) -> Result<(), WireError> {
    match bytes.first() {
        None => Err(WireError::Truncated(0)),
        Some(&VERSION) => Ok(()),
        Some(&v) => Err(WireError::Version(v)),
    }
}

impl Command {
    /// Encodes the command.
    pub fn encode(self) -> Control {
        let (kind, arg, boot_id) = match self {
            Command::Start {
                heartbeat_timeout_ms,
            } => (1, heartbeat_timeout_ms, 0),
            Command::Stop => (2, 0, 0),
            Command::Heartbeat => (3, 0, 0),
            Command::Ack { boot_id, seq } => (4, seq, boot_id.get()),
        };
        Control {
            version: VERSION,
            kind,
            reserved: 0.into(),
            arg: arg.into(),
            boot_id: boot_id.into(),
            reserved2: 0.into(),
        }
    }

    /// Decodes a control message.
    ///
    /// # Errors
    /// [`WireError`]: `Version` for another format version (checked first, whatever the
    /// length), `Truncated` for fewer than 16 bytes, `Kind` for an unknown kind, `BootId` for
    /// an ack with boot id 0.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        check_version(bytes)?;
        let (c, _) =
            Control::ref_from_prefix(bytes).map_err(|_| WireError::Truncated(bytes.len()))?;
        let arg = c.arg.get();
        Ok(match c.kind {
            1 => Command::Start {
                heartbeat_timeout_ms: arg,
            },
            2 => Command::Stop,
            3 => Command::Heartbeat,
            4 => Command::Ack {
                boot_id: NonZeroU32::new(c.boot_id.get()).ok_or(WireError::BootId)?,
                seq: arg,
            },
            k => return Err(WireError::Kind(k)),
        })
    }
}

/// Writes a batch of `samples` (1..=10) with header fields `info` into `out`; returns the
/// length in bytes, [`HEADER_LEN`] + 20 × `samples.len()` (at most [`MAX_BATCH_LEN`]).
///
/// # Panics
/// When `samples` is empty or longer than [`MAX_BATCH`] (a programming error of the caller).
pub fn encode_batch(out: &mut [u8; MAX_BATCH_LEN], samples: &[Sample], info: &BatchInfo) -> usize {
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
        boot_id: info.boot_id.get().into(),
        dropped_total: info.dropped_total.into(),
        dropped_unsent: info.dropped_unsent.into(),
        buffered: info.buffered.into(),
        reserved2: [0; 2],
    };
    let body = samples.as_bytes();
    out[..HEADER_LEN].copy_from_slice(h.as_bytes());
    out[HEADER_LEN..HEADER_LEN + body.len()].copy_from_slice(body);
    HEADER_LEN + body.len()
}

/// Parses a batch.
///
/// # Errors
/// [`WireError`]: `Version` for another format version (checked first, whatever the length),
/// `Truncated` for fewer than 20 bytes, `Kind` when it is not a batch, `Count` when the count
/// is 0, above 10 or does not match the length, `BootId` for boot id 0.
pub fn decode_batch(bytes: &[u8]) -> Result<Batch<'_>, WireError> {
    check_version(bytes)?;
    let (h, rest) =
        BatchHeader::ref_from_prefix(bytes).map_err(|_| WireError::Truncated(bytes.len()))?;
    if h.kind != KIND_BATCH {
        return Err(WireError::Kind(h.kind));
    }
    let n = h.count as usize;
    if n == 0 || n > MAX_BATCH || rest.len() != n * SAMPLE_LEN {
        return Err(WireError::Count(h.count));
    }
    let samples = <[Sample]>::ref_from_bytes(rest).map_err(|_| WireError::Count(h.count))?;
    let boot_id = NonZeroU32::new(h.boot_id.get()).ok_or(WireError::BootId)?;
    Ok(Batch {
        info: BatchInfo {
            boot_id,
            dropped_total: h.dropped_total.get(),
            dropped_unsent: h.dropped_unsent.get(),
            buffered: h.buffered.get(),
        },
        samples,
    })
}

impl Sample {
    /// A sample: sequence number, firmware uptime in ms, |accel| in m/s², |mag| in µT, |gyro|
    /// in dps.
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

    const BOOT: NonZeroU32 = boot_id(0x0a0b_0c0d);

    fn info() -> BatchInfo {
        BatchInfo {
            boot_id: BOOT,
            dropped_total: 3,
            dropped_unsent: 2,
            buffered: 42,
        }
    }

    #[test]
    fn layouts_are_fixed() {
        assert_eq!((CONTROL_LEN, HEADER_LEN, SAMPLE_LEN), (16, 20, 20));
        assert_eq!(MAX_BATCH_LEN, 220);
        let c = Command::Ack {
            boot_id: BOOT,
            seq: 0x0102_0304,
        }
        .encode();
        assert_eq!(
            c.as_bytes(),
            &[2, 4, 0, 0, 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a, 0, 0, 0, 0]
        );
        assert_eq!(
            Command::Start {
                heartbeat_timeout_ms: 500
            }
            .encode()
            .as_bytes(),
            &[2, 1, 0, 0, 0xf4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let s = Sample::new(7, 1000, 9.80665, 44.7, 0.0);
        assert_eq!(&s.as_bytes()[..8], &[7, 0, 0, 0, 0xe8, 3, 0, 0]);
        assert_eq!(&s.as_bytes()[8..12], &9.80665f32.to_le_bytes());
    }

    #[test]
    fn v2_batch_header_layout() {
        let mut buf = [0u8; MAX_BATCH_LEN];
        let n = encode_batch(&mut buf, &[Sample::new(9, 0, 0.0, 0.0, 0.0)], &info());
        assert_eq!(n, 40);
        #[rustfmt::skip]
        let header = [
            2, 0x81, 1, 0,              // version, kind, count, reserved
            0x0d, 0x0c, 0x0b, 0x0a,     // boot_id
            3, 0, 0, 0,                 // dropped_total
            2, 0, 0, 0,                 // dropped_unsent
            42, 0,                      // buffered
            0, 0,                       // reserved
        ];
        assert_eq!(&buf[..20], &header);
        assert_eq!(
            &buf[20..24],
            &9u32.to_le_bytes(),
            "first sample right after 20 bytes"
        );
        let b = decode_batch(&buf[..n]).unwrap();
        assert_eq!(b.info, info());
        assert_eq!(b.samples[0].seq.get(), 9);
    }

    #[test]
    fn boot_id_is_never_zero() {
        assert_eq!(boot_id(0).get(), 1);
        assert_eq!(boot_id(u32::MAX).get(), u32::MAX);
        let mut buf = [0u8; MAX_BATCH_LEN];
        let n = encode_batch(&mut buf, &[Sample::new(0, 0, 0.0, 0.0, 0.0)], &info());
        buf[4..8].fill(0);
        assert_eq!(decode_batch(&buf[..n]), Err(WireError::BootId));
        let mut ack = Command::Ack {
            boot_id: BOOT,
            seq: 1,
        }
        .encode();
        ack.boot_id = 0.into();
        assert_eq!(Command::decode(ack.as_bytes()), Err(WireError::BootId));
    }

    #[test]
    fn commands_round_trip() {
        for c in [
            Command::Start {
                heartbeat_timeout_ms: 1000,
            },
            Command::Stop,
            Command::Heartbeat,
            Command::Ack {
                boot_id: NonZeroU32::MAX,
                seq: u32::MAX,
            },
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
        assert_eq!(Command::decode(&[]), Err(WireError::Truncated(0)));
        b.version = 3;
        assert_eq!(Command::decode(b.as_bytes()), Err(WireError::Version(3)));
        b.version = VERSION;
        b.kind = 9;
        assert_eq!(Command::decode(b.as_bytes()), Err(WireError::Kind(9)));
    }

    /// Version-1 messages as the previous release sent them.
    #[test]
    fn version_1_is_refused_clearly() {
        // v1 ack of sequence 5: version 1, kind 4, arg 5.
        let ack_v1 = [1u8, 4, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(Command::decode(&ack_v1), Err(WireError::Version(1)));
        // v1 batch: 16-byte header (count 1, no boot id) and one sample, 36 bytes.
        let mut batch_v1 = [0u8; 36];
        batch_v1[..4].copy_from_slice(&[1, 0x81, 1, 0]);
        assert_eq!(decode_batch(&batch_v1), Err(WireError::Version(1)));
        // Version first, even when a v1 message is shorter than a v2 header.
        assert_eq!(decode_batch(&batch_v1[..16]), Err(WireError::Version(1)));
        let msg = std::format!("{}", WireError::Version(1));
        assert!(msg.contains("version 1, expected 2"), "{msg}");
        assert!(msg.contains("different releases"), "{msg}");
    }

    #[test]
    fn batch_round_trip_and_limits() {
        let samples: std::vec::Vec<_> = (0..10)
            .map(|i| Sample::new(i, i * 10, 9.8, 45.0, 1.5))
            .collect();
        let mut buf = [0u8; MAX_BATCH_LEN];
        let n = encode_batch(&mut buf, &samples, &info());
        assert_eq!(n, MAX_BATCH_LEN);
        let b = decode_batch(&buf[..n]).unwrap();
        assert_eq!(b.info, info());
        assert_eq!(b.samples, &samples[..]);
        assert_eq!(decode_batch(&buf[..n - 1]), Err(WireError::Count(10)));
        assert_eq!(decode_batch(&buf[..19]), Err(WireError::Truncated(19)));
        buf[2] = 11;
        assert_eq!(decode_batch(&buf[..n]), Err(WireError::Count(11)));
        buf[2] = 0;
        assert_eq!(decode_batch(&buf[..20]), Err(WireError::Count(0)));
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
        encode_batch(&mut [0u8; MAX_BATCH_LEN], &s, &info());
    }
}
