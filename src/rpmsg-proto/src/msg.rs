//! RPMsg messages: the header that precedes every payload and the name-service message.
//!
//! Sources: Linux `drivers/rpmsg/virtio_rpmsg_bus.c` (`struct rpmsg_hdr`, `MAX_RPMSG_BUF_SIZE`),
//! `include/linux/rpmsg/ns.h` (`struct rpmsg_ns_msg`, `RPMSG_NS_ADDR`), OpenAMP
//! `lib/rpmsg/rpmsg_internal.h` and `lib/include/openamp/rpmsg_virtio.h` (`RPMSG_BUFFER_SIZE`).

use core::fmt;

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Size in bytes of one RPMsg buffer, header included (Linux `MAX_RPMSG_BUF_SIZE`, OpenAMP
/// `RPMSG_BUFFER_SIZE`): 512.
pub const RPMSG_BUFFER_SIZE: usize = 512;

/// Size in bytes of [`RpmsgHeader`]: 16.
pub const RPMSG_HEADER_SIZE: usize = core::mem::size_of::<RpmsgHeader>();

/// Largest payload in bytes of one message with 512-byte buffers: 512 − 16 = 496.
pub const MAX_PAYLOAD: usize = RPMSG_BUFFER_SIZE - RPMSG_HEADER_SIZE;

/// Length in bytes of a service name, NUL padding included (Linux `RPMSG_NAME_SIZE`): 32.
pub const RPMSG_NAME_SIZE: usize = 32;

/// The name-service endpoint address (Linux `RPMSG_NS_ADDR`): 53.
pub const RPMSG_NS_ADDR: u32 = 53;

/// "Any address": an endpoint or destination not chosen yet (Linux/OpenAMP `RPMSG_ADDR_ANY`).
pub const RPMSG_ADDR_ANY: u32 = 0xFFFF_FFFF;

/// The header in front of every RPMsg payload (Linux `struct rpmsg_hdr`), 16 bytes, little-endian.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct RpmsgHeader {
    /// Source endpoint address.
    pub src: U32,
    /// Destination endpoint address.
    pub dst: U32,
    /// Reserved; OpenAMP stores a buffer index here on the receive path.
    pub reserved: U32,
    /// Payload length in bytes (at most [`MAX_PAYLOAD`] with 512-byte buffers).
    pub len: U16,
    /// Message flags (unused by Linux, 0).
    pub flags: U16,
}

impl RpmsgHeader {
    /// A header for `len` payload bytes from `src` to `dst`.
    pub fn new(src: u32, dst: u32, len: u16) -> Self {
        Self {
            src: src.into(),
            dst: dst.into(),
            reserved: 0.into(),
            len: len.into(),
            flags: 0.into(),
        }
    }
}

/// A payload longer than the transport carries. Nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadTooLarge {
    /// Length asked for, in bytes.
    pub len: usize,
    /// Largest payload in bytes (buffer size − 16-byte header; 496 with 512-byte buffers).
    pub max: usize,
}

impl fmt::Display for PayloadTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RPMsg payload of {} bytes exceeds the maximum of {} bytes",
            self.len, self.max
        )
    }
}

impl core::error::Error for PayloadTooLarge {}

/// Checks a payload length against the largest payload `max` (bytes) of a link.
///
/// Linux `rpmsg_send_offchannel_raw()` refuses `len > buf_size - sizeof(rpmsg_hdr)` with
/// `-EMSGSIZE`; OpenAMP with `RPMSG_ERR_BUFF_SIZE`. Both sides of this project check first so
/// the caller gets one typed error and no buffer is taken.
///
/// # Errors
/// [`PayloadTooLarge`] when `len > max`.
pub fn check_payload(len: usize, max: usize) -> Result<(), PayloadTooLarge> {
    if len > max {
        Err(PayloadTooLarge { len, max })
    } else {
        Ok(())
    }
}

/// Name-service flags (Linux `enum rpmsg_ns_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsFlags {
    /// A new remote service: the peer should create a channel (`RPMSG_NS_CREATE`, 0).
    Create,
    /// The service went away: the peer should remove the channel (`RPMSG_NS_DESTROY`, 1).
    Destroy,
}

/// A name-service announcement (Linux `struct rpmsg_ns_msg`), 40 bytes, sent to
/// [`RPMSG_NS_ADDR`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct NsMessage {
    /// Service name, NUL-padded to 32 bytes.
    pub name: [u8; RPMSG_NAME_SIZE],
    /// Address of the announcing endpoint.
    pub addr: U32,
    /// 0 = create, 1 = destroy.
    pub flags: U32,
}

/// Why a name-service message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsError {
    /// Shorter than the 40-byte `struct rpmsg_ns_msg`; carries the length in bytes.
    Truncated(usize),
    /// The name is empty, not NUL-terminated within 32 bytes, or not UTF-8.
    BadName,
    /// A flags value other than 0 (create) or 1 (destroy).
    BadFlags(u32),
}

impl fmt::Display for NsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NsError::Truncated(n) => write!(f, "name-service message of {n} bytes, need 40"),
            NsError::BadName => f.write_str("name-service message with an invalid service name"),
            NsError::BadFlags(x) => write!(f, "name-service message with unknown flags {x:#x}"),
        }
    }
}

impl core::error::Error for NsError {}

impl NsMessage {
    /// Builds an announcement. Names longer than 31 bytes are refused, as Linux
    /// `rpmsg_ns_cb()` would read them unterminated.
    ///
    /// # Errors
    /// [`NsError::BadName`] for an empty name or one of 32 bytes or more.
    pub fn new(name: &str, addr: u32, flags: NsFlags) -> Result<Self, NsError> {
        if name.is_empty() || name.len() >= RPMSG_NAME_SIZE {
            return Err(NsError::BadName);
        }
        let mut buf = [0u8; RPMSG_NAME_SIZE];
        buf[..name.len()].copy_from_slice(name.as_bytes());
        let flags = match flags {
            NsFlags::Create => 0,
            NsFlags::Destroy => 1,
        };
        Ok(Self {
            name: buf,
            addr: addr.into(),
            flags: U32::new(flags),
        })
    }

    /// Parses and checks a received name-service payload.
    ///
    /// # Errors
    /// [`NsError`] for a short message, a bad name or unknown flags.
    pub fn parse(payload: &[u8]) -> Result<(&str, u32, NsFlags), NsError> {
        let (msg, _) =
            NsMessage::ref_from_prefix(payload).map_err(|_| NsError::Truncated(payload.len()))?;
        let end = msg
            .name
            .iter()
            .position(|&b| b == 0)
            .ok_or(NsError::BadName)?;
        if end == 0 {
            return Err(NsError::BadName);
        }
        let name = core::str::from_utf8(&msg.name[..end]).map_err(|_| NsError::BadName)?;
        let flags = match msg.flags.get() {
            0 => NsFlags::Create,
            1 => NsFlags::Destroy,
            x => return Err(NsError::BadFlags(x)),
        };
        Ok((name, msg.addr.get(), flags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_16_bytes_little_endian() {
        let h = RpmsgHeader::new(0x400, 53, 40);
        assert_eq!(RPMSG_HEADER_SIZE, 16);
        assert_eq!(
            h.as_bytes(),
            &[0, 4, 0, 0, 53, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0]
        );
        assert_eq!(MAX_PAYLOAD, 496);
    }

    #[test]
    fn payload_limit_is_inclusive() {
        assert_eq!(check_payload(496, MAX_PAYLOAD), Ok(()));
        assert_eq!(check_payload(0, MAX_PAYLOAD), Ok(()));
        assert_eq!(
            check_payload(497, MAX_PAYLOAD),
            Err(PayloadTooLarge { len: 497, max: 496 })
        );
    }

    #[test]
    fn ns_round_trip() {
        let m = NsMessage::new("rpmsg-tty", 0x401, NsFlags::Create).unwrap();
        assert_eq!(core::mem::size_of::<NsMessage>(), 40);
        assert_eq!(
            NsMessage::parse(m.as_bytes()),
            Ok(("rpmsg-tty", 0x401, NsFlags::Create))
        );
    }

    #[test]
    fn ns_rejects_malformed() {
        assert_eq!(NsMessage::parse(&[0u8; 39]), Err(NsError::Truncated(39)));
        let mut raw = [b'a'; 40];
        assert_eq!(
            NsMessage::parse(&raw),
            Err(NsError::BadName),
            "unterminated name"
        );
        raw[..32].fill(0);
        assert_eq!(NsMessage::parse(&raw), Err(NsError::BadName), "empty name");
        let mut m = NsMessage::new("x", 1, NsFlags::Destroy).unwrap();
        assert_eq!(NsMessage::parse(m.as_bytes()).unwrap().2, NsFlags::Destroy);
        m.flags = 7.into();
        assert_eq!(NsMessage::parse(m.as_bytes()), Err(NsError::BadFlags(7)));
        assert_eq!(
            NsMessage::new(&"n".repeat(32), 1, NsFlags::Create),
            Err(NsError::BadName)
        );
    }
}
