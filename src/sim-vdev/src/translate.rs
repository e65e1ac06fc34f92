//! The pure translation from vhost-user requests to resource-table writes.
//!
//! [`Translator::handle`] takes one decoded vhost-user [`Request`] and the resource table as
//! bytes, writes into the table what Linux remoteproc would write at that point, and returns the
//! [`Action`] the caller must carry out. It has no fds and no sockets: the same [`Request`]
//! values are what `mcore-vdev --record` writes as JSON lines, so recorded conversations replay
//! through it in host tests.
//!
//! Writes, and the Linux function each one stands for:
//!
//! | request | table writes | Linux |
//! |---|---|---|
//! | `SET_OWNER` (a new Linux) | vring `notifyid` 0 and 1; `status` 0 | `rproc_alloc_vring()` (`idr_alloc`), `rproc_virtio_reset()` |
//! | `SET_FEATURES` | `gfeatures`; `status` ACKNOWLEDGE\|DRIVER | `rproc_virtio_finalize_features()`, `rproc_virtio_set_status()` |
//! | `SET_VRING_NUM` | vring `num` | (`rproc_parse_vring()` reads it; here Linux chooses it) |
//! | `SET_VRING_ADDR` | vring `da`, `align` 4096 | `rp_find_vq()` |
//! | first kick of vring 0 after `SET_VRING_ENABLE 1` of both | `status` DRIVER_OK\|DRIVER\|ACKNOWLEDGE | `virtio_device_ready()` in `rpmsg_probe()` |
//! | `SET_VRING_ENABLE 0` | `status` 0 | `rproc_virtio_reset()` |
//! | end of connection | nothing (a crashed Linux leaves `DRIVER_OK` behind) | — |

use core::mem::offset_of;

use rpmsg_proto::rsc::{status, FwRscVdev, FwRscVdevVring, RpmsgVdev, RscError};
use serde::{Deserialize, Serialize};

/// vhost-user feature bit: the backend speaks the protocol-feature extension
/// (`VHOST_USER_F_PROTOCOL_FEATURES`, bit 30).
pub const VHOST_USER_F_PROTOCOL_FEATURES: u64 = 1 << 30;
/// Virtio feature bit `VIRTIO_F_VERSION_1` (bit 32). UML's virtio_uml needs it offered; the
/// resource table cannot express it, so it never reaches `gfeatures`.
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
/// vhost-user protocol feature `REPLY_ACK` (bit 3).
pub const PROTOCOL_F_REPLY_ACK: u64 = 1 << 3;
/// vhost-user protocol feature `BACKEND_REQ` / `SLAVE_REQ` (bit 5). Without it UML 6.1's probe
/// fails with `-EBUSY` (it requests IRQ 0 for the call fds).
pub const PROTOCOL_F_BACKEND_REQ: u64 = 1 << 5;
/// Protocol features the device offers in `GET_PROTOCOL_FEATURES`.
pub const PROTOCOL_FEATURES: u64 = PROTOCOL_F_REPLY_ACK | PROTOCOL_F_BACKEND_REQ;
/// Alignment in bytes of the used ring in the legacy vring layout (`vring_init(num, 4096)`),
/// written into each vring's `align`.
pub const VRING_ALIGN: u32 = 4096;
/// Largest virtqueue size virtio allows (`num` ≤ 32768).
pub const VRING_NUM_MAX: u32 = 32768;

/// One vhost-user memory region (`VhostUserMemoryRegion`), all values in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Guest-physical address of the region's first byte (for UML: its physical address).
    pub guest_phys_addr: u64,
    /// Length of the region.
    pub memory_size: u64,
    /// Address of the region in the frontend's address space; vring addresses are given in it.
    pub user_addr: u64,
    /// Offset of the region's first byte in the memory file.
    pub mmap_offset: u64,
}

/// A decoded vhost-user request, or the end of the connection. Serialized as one JSON object
/// per line with the request name in `"req"` (e.g. `{"req":"SET_VRING_NUM","index":0,"num":256}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "req", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Request {
    /// `SET_OWNER`: the first request of a new frontend, i.e. of a new Linux.
    SetOwner,
    /// `GET_FEATURES`.
    GetFeatures,
    /// `SET_FEATURES` with the features the driver acked.
    SetFeatures {
        /// Acked virtio + vhost-user feature bits.
        features: u64,
    },
    /// `GET_PROTOCOL_FEATURES`.
    GetProtocolFeatures,
    /// `SET_PROTOCOL_FEATURES`.
    SetProtocolFeatures {
        /// Acked protocol feature bits.
        features: u64,
    },
    /// `SET_BACKEND_REQ_FD` (the fd is kept by the caller).
    SetBackendReqFd,
    /// `SET_MEM_TABLE` (one fd per region, kept by the caller).
    SetMemTable {
        /// The regions.
        regions: Vec<Region>,
    },
    /// `SET_VRING_NUM`.
    SetVringNum {
        /// Vring index.
        index: u32,
        /// Number of descriptors.
        num: u32,
    },
    /// `SET_VRING_ADDR`, addresses in the frontend's address space ([`Region::user_addr`]).
    SetVringAddr {
        /// Vring index.
        index: u32,
        /// `VHOST_VRING_F_LOG` etc.
        flags: u32,
        /// Descriptor table address.
        descriptor: u64,
        /// Used ring address.
        used: u64,
        /// Available ring address.
        available: u64,
        /// Log address (UML sends `u64::MAX`).
        log: u64,
    },
    /// `SET_VRING_BASE`: the next available-ring index the device must read.
    SetVringBase {
        /// Vring index.
        index: u32,
        /// The index.
        base: u32,
    },
    /// `SET_VRING_KICK` (the fd is kept by the caller).
    SetVringKick {
        /// Vring index.
        index: u8,
        /// Whether an fd came with it (else: polling mode).
        fd: bool,
    },
    /// `SET_VRING_CALL` (the fd is kept by the caller).
    SetVringCall {
        /// Vring index.
        index: u8,
        /// Whether an fd came with it.
        fd: bool,
    },
    /// `SET_VRING_ERR` (the fd is dropped).
    SetVringErr {
        /// Vring index.
        index: u8,
        /// Whether an fd came with it.
        fd: bool,
    },
    /// `SET_VRING_ENABLE`.
    SetVringEnable {
        /// Vring index.
        index: u32,
        /// Enable (1) or disable (0).
        enable: bool,
    },
    /// Linux kicked vring `index` (its kick eventfd fired): not a vhost-user message, but the
    /// one sign of `virtio_device_ready()`, which `rpmsg_probe()` calls right before its first
    /// kick of vring 0.
    Kick {
        /// Vring index.
        index: u32,
    },
    /// Any other request; refused.
    Unsupported {
        /// The request's name.
        name: String,
    },
    /// The frontend closed the connection (a poweroff, or a killed Linux).
    Eof,
}

/// What the caller must do after [`Translator::handle`] wrote into the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more.
    Done,
    /// Answer the request (`GET_FEATURES`, `GET_PROTOCOL_FEATURES`) with this value.
    Reply(u64),
    /// Send `MEM` with the region's memory fd to the firmware and wait for `MEM_ACK` before
    /// answering `SET_MEM_TABLE`. `len`: bytes to map from file offset 0.
    MapMemory {
        /// `mmap_offset + memory_size` of the region, in bytes.
        len: u64,
    },
}

/// Why a request is refused. Each refusal ends that Linux's connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The firmware's resource table has no usable RPMsg vdev.
    #[error("resource table: {0}")]
    Rsc(#[from] RscError),
    /// A request that needs the device set up came before `SET_OWNER`.
    #[error("{0} before SET_OWNER")]
    NoOwner(&'static str),
    /// A vring index other than 0 and 1.
    #[error("vring index {0}: the RPMsg vdev has vrings 0 and 1 only")]
    BadIndex(u32),
    /// `SET_MEM_TABLE` with other than one region.
    #[error("SET_MEM_TABLE with {0} regions: exactly one is supported")]
    RegionCount(usize),
    /// The region's guest-physical address differs from its file offset, so guest-physical
    /// addresses are not offsets into the file the firmware maps.
    #[error(
        "memory region {0:x?}: guest_phys_addr differs from mmap_offset, so physical addresses \
         are not file offsets"
    )]
    RegionNotIdentity(Region),
    /// The region is empty or wraps around the 64-bit address space.
    #[error("memory region {0:x?} is empty or wraps around")]
    BadRegion(Region),
    /// `num` is not a power of two in 1..=32768.
    #[error("vring {index}: num {num} is not a power of two in 1..=32768")]
    BadNum {
        /// Vring index.
        index: u32,
        /// The `num` asked for.
        num: u32,
    },
    /// `SET_VRING_ADDR` before `SET_MEM_TABLE`.
    #[error("vring {0}: SET_VRING_ADDR before SET_MEM_TABLE")]
    NoMemTable(u32),
    /// `SET_VRING_ADDR` before `SET_VRING_NUM`.
    #[error("vring {0}: SET_VRING_ADDR before SET_VRING_NUM")]
    NoVringNum(u32),
    /// The ring is not the legacy contiguous layout of `vring_init(num, 4096)`, the only one a
    /// resource table (`da`, `num`, `align`) can describe.
    #[error(
        "vring {index}: desc {desc:#x}, avail {avail:#x}, used {used:#x} (num {num}) is not the \
         legacy layout a resource table can express (avail must be {want_avail:#x}, used \
         {want_used:#x})"
    )]
    NotLegacyLayout {
        /// Vring index.
        index: u32,
        /// Number of descriptors.
        num: u32,
        /// Descriptor table address (frontend address space).
        desc: u64,
        /// Available ring address.
        avail: u64,
        /// Used ring address.
        used: u64,
        /// Where the available ring must be: `desc + 16·num`.
        want_avail: u64,
        /// Where the used ring must be: `align_up(avail + 6 + 2·num, 4096)`.
        want_used: u64,
    },
    /// The ring (descriptor table to end of used ring) is not inside the memory region.
    #[error(
        "vring {index}: {start:#x}..{end:#x} is outside the memory region \
         {region_start:#x}..{region_end:#x}"
    )]
    OutOfRegion {
        /// Vring index.
        index: u32,
        /// First byte of the ring (frontend address space).
        start: u64,
        /// One past its last byte.
        end: u64,
        /// First byte of the region (frontend address space).
        region_start: u64,
        /// One past its last byte.
        region_end: u64,
    },
    /// The ring is not below 4 GiB in guest-physical space: `da` is 32 bits.
    #[error(
        "vring {index}: physical {start:#x}..{end:#x} is not below 4 GiB; a resource table \
         holds 32-bit addresses"
    )]
    AboveFourGiB {
        /// Vring index.
        index: u32,
        /// First byte of the ring (guest-physical).
        start: u64,
        /// One past its last byte.
        end: u64,
    },
    /// `SET_VRING_BASE` other than 0: only new rings are supported.
    #[error("vring {index}: SET_VRING_BASE {base}; only a new ring (base 0) is supported")]
    NonZeroBase {
        /// Vring index.
        index: u32,
        /// The base asked for.
        base: u32,
    },
    /// `SET_VRING_ENABLE 1` before the vring's `SET_VRING_ADDR`.
    #[error("vring {0} enabled before SET_VRING_ADDR")]
    NotReady(u32),
    /// A request this device does not implement.
    #[error("{0} is not supported by this device")]
    Unsupported(String),
}

/// The per-connection state machine. One instance serves connection after connection:
/// `SET_OWNER` and the end of a connection both start it afresh.
#[derive(Debug, Default, Clone)]
pub struct Translator {
    /// Where the RPMsg vdev is; `Some` from `SET_OWNER` on.
    vdev: Option<RpmsgVdev>,
    region: Option<Region>,
    num: [Option<u32>; 2],
    addr_set: [bool; 2],
    enabled: [bool; 2],
    /// DRIVER_OK written (the first kick of vring 0 after both rings were enabled).
    ready: bool,
}

impl Translator {
    /// A translator with no connection yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The memory region of the current connection, once `SET_MEM_TABLE` was accepted.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// Handles one request: writes into `table` (the resource table, from its first byte) and
    /// returns what the caller must do next.
    ///
    /// # Errors
    /// An [`Error`] for every refusal; the table may then hold the writes of earlier requests
    /// only (a refused request writes nothing).
    pub fn handle(&mut self, table: &mut [u8], req: &Request) -> Result<Action, Error> {
        match *req {
            Request::SetOwner => {
                *self = Self::default();
                let vdev = RpmsgVdev::find(table)?;
                // rproc_alloc_vring(): notifyid from a fresh idr_alloc(), 0 and 1.
                for i in 0..2 {
                    put_u32(
                        table,
                        vdev.vring_offset(i) + offset_of!(FwRscVdevVring, notifyid),
                        i as u32,
                    )?;
                }
                // rproc_virtio_reset().
                put_status(table, &vdev, 0)?;
                self.vdev = Some(vdev);
                Ok(Action::Done)
            }
            Request::GetFeatures => {
                let dfeatures = match self.vdev {
                    Some(v) => v.dfeatures,
                    None => RpmsgVdev::find(table)?.dfeatures,
                };
                Ok(Action::Reply(
                    u64::from(dfeatures) | VHOST_USER_F_PROTOCOL_FEATURES | VIRTIO_F_VERSION_1,
                ))
            }
            Request::GetProtocolFeatures => Ok(Action::Reply(PROTOCOL_FEATURES)),
            Request::SetProtocolFeatures { .. } | Request::SetBackendReqFd => Ok(Action::Done),
            Request::SetFeatures { features } => {
                let vdev = self.owned("SET_FEATURES")?;
                // rproc_virtio_finalize_features(): gfeatures = negotiated features (low 32 bits).
                let gfeatures = features as u32 & vdev.dfeatures;
                put_u32(
                    table,
                    vdev.vdev_offset + offset_of!(FwRscVdev, gfeatures),
                    gfeatures,
                )?;
                // rproc_virtio_set_status(): ACKNOWLEDGE, then DRIVER. No FEATURES_OK: the
                // device has no VIRTIO_F_VERSION_1.
                put_status(table, &vdev, status::ACKNOWLEDGE | status::DRIVER)?;
                Ok(Action::Done)
            }
            Request::SetMemTable { ref regions } => {
                self.owned("SET_MEM_TABLE")?;
                let [r] = regions[..] else {
                    return Err(Error::RegionCount(regions.len()));
                };
                if r.memory_size == 0
                    || r.guest_phys_addr.checked_add(r.memory_size).is_none()
                    || r.user_addr.checked_add(r.memory_size).is_none()
                {
                    return Err(Error::BadRegion(r));
                }
                if r.guest_phys_addr != r.mmap_offset {
                    return Err(Error::RegionNotIdentity(r));
                }
                self.region = Some(r);
                Ok(Action::MapMemory {
                    len: r.mmap_offset + r.memory_size,
                })
            }
            Request::SetVringNum { index, num } => {
                let i = vring_index(index)?;
                let vdev = self.owned("SET_VRING_NUM")?;
                if !num.is_power_of_two() || num > VRING_NUM_MAX {
                    return Err(Error::BadNum { index, num });
                }
                put_u32(
                    table,
                    vdev.vring_offset(i) + offset_of!(FwRscVdevVring, num),
                    num,
                )?;
                self.num[i] = Some(num);
                Ok(Action::Done)
            }
            Request::SetVringAddr {
                index,
                descriptor,
                used,
                available,
                ..
            } => {
                let i = vring_index(index)?;
                let vdev = self.owned("SET_VRING_ADDR")?;
                let region = self.region.ok_or(Error::NoMemTable(index))?;
                let num = self.num[i].ok_or(Error::NoVringNum(index))?;
                let da = ring_da(index, num, &region, descriptor, available, used)?;
                // rp_find_vq(): the vring's device address. align: what vring_init() used.
                let off = vdev.vring_offset(i);
                put_u32(table, off + offset_of!(FwRscVdevVring, da), da)?;
                put_u32(table, off + offset_of!(FwRscVdevVring, align), VRING_ALIGN)?;
                self.addr_set[i] = true;
                Ok(Action::Done)
            }
            Request::SetVringBase { index, base } => {
                vring_index(index)?;
                self.owned("SET_VRING_BASE")?;
                if base != 0 {
                    return Err(Error::NonZeroBase { index, base });
                }
                Ok(Action::Done)
            }
            Request::SetVringKick { index, .. }
            | Request::SetVringCall { index, .. }
            | Request::SetVringErr { index, .. } => {
                vring_index(index.into())?;
                Ok(Action::Done)
            }
            Request::SetVringEnable { index, enable } => {
                let i = vring_index(index)?;
                let vdev = self.owned("SET_VRING_ENABLE")?;
                if enable && !self.addr_set[i] {
                    return Err(Error::NotReady(index));
                }
                self.enabled[i] = enable;
                if !enable {
                    // Clean shutdown: virtio_rpmsg_remove() → rproc_virtio_reset().
                    self.ready = false;
                    put_status(table, &vdev, 0)?;
                }
                Ok(Action::Done)
            }
            Request::Kick { index } => {
                let i = vring_index(index)?;
                if i == 0 && !self.ready && self.enabled == [true, true] {
                    // rpmsg_probe(): rx buffers posted, the name-service endpoint created,
                    // virtio_device_ready() (status DRIVER_OK), then the first kick of vring 0.
                    // DRIVER_OK any earlier would let the firmware announce its endpoints
                    // before Linux can hear them.
                    let vdev = self.owned("kick")?;
                    self.ready = true;
                    put_status(
                        table,
                        &vdev,
                        status::DRIVER_OK | status::DRIVER | status::ACKNOWLEDGE,
                    )?;
                }
                Ok(Action::Done)
            }
            Request::Unsupported { ref name } => Err(Error::Unsupported(name.clone())),
            Request::Eof => {
                // A crashed Linux writes nothing; neither does a closed connection.
                *self = Self::default();
                Ok(Action::Done)
            }
        }
    }

    fn owned(&self, req: &'static str) -> Result<RpmsgVdev, Error> {
        self.vdev.ok_or(Error::NoOwner(req))
    }
}

fn vring_index(index: u32) -> Result<usize, Error> {
    match index {
        0 | 1 => Ok(index as usize),
        _ => Err(Error::BadIndex(index)),
    }
}

/// Checks the ring at `desc`/`avail`/`used` (frontend addresses) and returns its 32-bit
/// guest-physical device address.
fn ring_da(
    index: u32,
    num: u32,
    region: &Region,
    desc: u64,
    avail: u64,
    used: u64,
) -> Result<u32, Error> {
    // u128: no overflow whatever the frontend sends.
    let n = u128::from(num);
    let want_avail = u128::from(desc) + 16 * n;
    let align = u128::from(VRING_ALIGN);
    let want_used = (want_avail + 6 + 2 * n).div_ceil(align) * align;
    if u128::from(avail) != want_avail || u128::from(used) != want_used {
        return Err(Error::NotLegacyLayout {
            index,
            num,
            desc,
            avail,
            used,
            want_avail: clamp(want_avail),
            want_used: clamp(want_used),
        });
    }
    let end = want_used + 6 + 8 * n;
    let region_start = u128::from(region.user_addr);
    let region_end = region_start + u128::from(region.memory_size);
    if u128::from(desc) < region_start || end > region_end {
        return Err(Error::OutOfRegion {
            index,
            start: desc,
            end: clamp(end),
            region_start: region.user_addr,
            region_end: clamp(region_end),
        });
    }
    let phys = u128::from(desc) - region_start + u128::from(region.guest_phys_addr);
    let phys_end = phys + (end - u128::from(desc));
    u32::try_from(phys)
        .ok()
        .filter(|_| phys_end <= 1 << 32)
        .ok_or(Error::AboveFourGiB {
            index,
            start: clamp(phys),
            end: clamp(phys_end),
        })
}

fn clamp(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn put_u32(table: &mut [u8], off: usize, v: u32) -> Result<(), Error> {
    table
        .get_mut(off..off + 4)
        .ok_or(Error::Rsc(RscError::VdevTruncated))?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn put_status(table: &mut [u8], vdev: &RpmsgVdev, s: u8) -> Result<(), Error> {
    *table
        .get_mut(vdev.vdev_offset + offset_of!(FwRscVdev, status))
        .ok_or(Error::Rsc(RscError::VdevTruncated))? = s;
    Ok(())
}

/// Byte offset of the vdev's status byte in `table`, if the table has an RPMsg vdev.
pub fn status_offset(table: &[u8]) -> Option<usize> {
    RpmsgVdev::find(table)
        .ok()
        .map(|v| v.vdev_offset + offset_of!(FwRscVdev, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_layout_of_num_256() {
        let r = Region {
            guest_phys_addr: 0x1000,
            memory_size: 0x10_0000,
            user_addr: 0x8000_0000,
            mmap_offset: 0x1000,
        };
        // vring_init(256, 4096): desc 4096 bytes, avail 518, used at the next page.
        let d = 0x8000_4000;
        assert_eq!(ring_da(0, 256, &r, d, d + 0x1000, d + 0x2000), Ok(0x5000));
        assert!(matches!(
            ring_da(0, 256, &r, d, d + 0x1000, d + 0x1208),
            Err(Error::NotLegacyLayout { want_used, .. }) if want_used == d + 0x2000
        ));
        // The ring ends with the used ring: used + 6 + 8·256 = used + 0x806, exactly at the end.
        let tight = Region {
            memory_size: 0x3806,
            ..r
        };
        let d = 0x8000_1000;
        assert_eq!(
            ring_da(1, 256, &tight, d, d + 0x1000, d + 0x2000),
            Ok(0x2000)
        );
        let short = Region {
            memory_size: 0x3805,
            ..r
        };
        assert!(matches!(
            ring_da(1, 256, &short, d, d + 0x1000, d + 0x2000),
            Err(Error::OutOfRegion {
                end: 0x8000_3806,
                region_end: 0x8000_3805,
                ..
            })
        ));
        assert!(matches!(
            ring_da(0, 256, &r, 0x7fff_0000, 0x7fff_1000, 0x7fff_2000),
            Err(Error::OutOfRegion { .. })
        ));
        // No overflow panic at the top of the address space.
        assert!(ring_da(1, 32768, &r, u64::MAX - 15, u64::MAX, u64::MAX).is_err());
    }
}
