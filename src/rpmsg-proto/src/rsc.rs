//! The remoteproc resource table: what the firmware publishes in its `.resource_table` ELF
//! section and what Linux remoteproc (or the mcore-rs host) reads, fills in and checks.
//!
//! Layout (Linux `include/linux/remoteproc.h`, OpenAMP `lib/include/openamp/remoteproc.h`,
//! Zephyr `subsys/ipc/open-amp/resource_table.h`), all fields little-endian `u32` unless noted:
//!
//! ```text
//! 0   ver (= 1) | num | reserved[2] (= 0)          struct resource_table, 16 bytes
//! 16  offset[num]                                   byte offset of each entry from the table start
//! ..  entry: type | ...                             type 3 = RSC_VDEV:
//!     type | id | notifyid | dfeatures | gfeatures | config_len | status u8 | num_of_vrings u8 | reserved[2] u8
//!     vring[num_of_vrings]: da | align | num | notifyid | pa   (20 bytes each)
//!     config[config_len]
//! ```
//!
//! [`RpmsgVdev::find`] applies the checks Linux makes before it boots the core
//! (`rproc_elf_load_rsc_table()`, `rproc_handle_resources()`, `rproc_handle_vdev()`,
//! `rproc_parse_vring()`, `vring_new_virtqueue()`), plus what `virtio_rpmsg_bus` needs: a
//! `VIRTIO_ID_RPMSG` vdev with two vrings. The firmware's table passes it at build time
//! (`scripts/check_rsc_table.py` runs the host tool on every zephyr.elf); the host uses the same
//! function on the live table in shared memory.

use core::fmt;

use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Resource type of a virtio device entry (`RSC_VDEV`).
pub const RSC_VDEV: u32 = 3;
/// Virtio device id of RPMsg (`VIRTIO_ID_RPMSG`, virtio 1.1 §5).
pub const VIRTIO_ID_RPMSG: u32 = 7;
/// Feature bit: the remote supports name-service announcements (`VIRTIO_RPMSG_F_NS`).
pub const VIRTIO_RPMSG_F_NS: u32 = 0;
/// Sentinel the firmware puts in `da` so the host allocates the vring (`FW_RSC_ADDR_ANY`).
pub const FW_RSC_ADDR_ANY: u32 = 0xFFFF_FFFF;

/// Virtio device status bits (virtio 1.1 §2.1), written by the host into
/// [`FwRscVdev::status`].
pub mod status {
    /// The guest OS has noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The driver knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// The driver is set up and ready to drive the device.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u8 = 8;
    /// The device needs a reset.
    pub const NEEDS_RESET: u8 = 64;
    /// The driver gave up on the device.
    pub const FAILED: u8 = 128;
}

/// `struct resource_table` without its trailing offsets: 16 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct TableHeader {
    /// Table version; Linux accepts only 1.
    pub ver: U32,
    /// Number of entries (and of offsets after this header).
    pub num: U32,
    /// Must be zero.
    pub reserved: [U32; 2],
}

/// `struct fw_rsc_vdev` including its leading type word: 28 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct FwRscVdev {
    /// [`RSC_VDEV`].
    pub rtype: U32,
    /// Virtio device id ([`VIRTIO_ID_RPMSG`]).
    pub id: U32,
    /// Notify id of the vdev itself.
    pub notifyid: U32,
    /// Features the device (firmware) offers.
    pub dfeatures: U32,
    /// Features the host accepted; written by the host.
    pub gfeatures: U32,
    /// Bytes of virtio config space after the vrings.
    pub config_len: U32,
    /// Virtio status byte ([`status`]); written by the host.
    pub status: u8,
    /// Number of vrings that follow.
    pub num_of_vrings: u8,
    /// Must be zero.
    pub reserved: [u8; 2],
}

/// `struct fw_rsc_vdev_vring`: 20 bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct FwRscVdevVring {
    /// Device address of the vring; [`FW_RSC_ADDR_ANY`] until the host allocates it.
    pub da: U32,
    /// Alignment in bytes of the used ring (a power of two).
    pub align: U32,
    /// Number of descriptors (buffers); a power of two.
    pub num: U32,
    /// Notify id the peer sends in a kick for this vring.
    pub notifyid: U32,
    /// Physical address; Linux writes it, OpenAMP ignores it.
    pub pa: U32,
}

/// Why a resource table is refused. The wording follows the Linux remoteproc message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RscError {
    /// The table is shorter than its header and offsets say (`resource table incomplete`).
    Truncated {
        /// Bytes the header and offsets need.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// `ver` is not 1 (`unsupported fw ver`).
    BadVersion(u32),
    /// The table header's reserved words are not zero (`non zero reserved bytes`).
    ReservedNonZero,
    /// Entry `index` has an offset that does not fit a header (`rsc table is truncated`).
    BadOffset {
        /// Entry index.
        index: usize,
        /// Its offset in bytes.
        offset: u32,
    },
    /// A vdev entry with its vrings and config does not fit (`vdev rsc is truncated`).
    VdevTruncated,
    /// A vdev entry with non-zero reserved bytes (`vdev rsc has non zero reserved bytes`).
    VdevReservedNonZero,
    /// No `VIRTIO_ID_RPMSG` vdev in the table.
    NoRpmsgVdev,
    /// The RPMsg vdev does not offer `VIRTIO_RPMSG_F_NS`.
    NoNameService,
    /// The RPMsg vdev has this many vrings instead of 2 (rx and tx).
    VringCount(u8),
    /// Vring `index` has `num` 0 or not a power of two (`invalid vring`, `Bad virtqueue length`).
    BadVringNum {
        /// Vring index.
        index: usize,
        /// Its `num`.
        num: u32,
    },
    /// Vring `index` has an alignment of 0 or not a power of two (`invalid vring`).
    BadVringAlign {
        /// Vring index.
        index: usize,
        /// Its `align`.
        align: u32,
    },
}

impl fmt::Display for RscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RscError::Truncated { need, have } => {
                write!(
                    f,
                    "resource table incomplete: {have} bytes, header and offsets need {need}"
                )
            }
            RscError::BadVersion(v) => write!(f, "unsupported resource table version {v} (need 1)"),
            RscError::ReservedNonZero => f.write_str("resource table has non zero reserved bytes"),
            RscError::BadOffset { index, offset } => {
                write!(
                    f,
                    "resource entry {index} at offset {offset} is outside the table"
                )
            }
            RscError::VdevTruncated => f.write_str("vdev resource is truncated"),
            RscError::VdevReservedNonZero => {
                f.write_str("vdev resource has non zero reserved bytes")
            }
            RscError::NoRpmsgVdev => f.write_str("no VIRTIO_ID_RPMSG vdev in the resource table"),
            RscError::NoNameService => {
                f.write_str("RPMsg vdev lacks the VIRTIO_RPMSG_F_NS feature")
            }
            RscError::VringCount(n) => write!(f, "RPMsg vdev has {n} vrings, need 2"),
            RscError::BadVringNum { index, num } => {
                write!(f, "vring {index}: num {num} is not a power of two > 0")
            }
            RscError::BadVringAlign { index, align } => {
                write!(f, "vring {index}: align {align} is not a power of two > 0")
            }
        }
    }
}

impl core::error::Error for RscError {}

/// Where the RPMsg vdev sits in a resource table, after every check passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpmsgVdev {
    /// Byte offset of the [`FwRscVdev`] entry from the table start.
    pub vdev_offset: usize,
    /// Copy of the vdev entry as read.
    pub dfeatures: u32,
    /// The two vrings: index 0 carries host→remote messages, index 1 remote→host (OpenAMP
    /// device role: `rvq = vring[1]`, `svq = vring[0]`… seen from the host, vring 0 is its tx).
    pub vrings: [FwRscVdevVring; 2],
}

impl RpmsgVdev {
    /// Byte offset of vring `i` (0 or 1) from the table start.
    pub fn vring_offset(&self, i: usize) -> usize {
        self.vdev_offset
            + core::mem::size_of::<FwRscVdev>()
            + i * core::mem::size_of::<FwRscVdevVring>()
    }

    /// Finds and checks the RPMsg vdev of the resource table in `table` (bytes from the start of
    /// the table; trailing bytes are ignored).
    ///
    /// # Errors
    /// The first [`RscError`] Linux remoteproc or virtio_rpmsg_bus would stop at.
    pub fn find(table: &[u8]) -> Result<Self, RscError> {
        let (hdr, rest) = TableHeader::ref_from_prefix(table).map_err(|_| RscError::Truncated {
            need: 16,
            have: table.len(),
        })?;
        if hdr.ver.get() != 1 {
            return Err(RscError::BadVersion(hdr.ver.get()));
        }
        if hdr.reserved.iter().any(|r| r.get() != 0) {
            return Err(RscError::ReservedNonZero);
        }
        let num = hdr.num.get() as usize;
        let need = 16usize.saturating_add(num.saturating_mul(4));
        let offsets = <[U32]>::ref_from_prefix_with_elems(rest, num)
            .map_err(|_| RscError::Truncated {
                need,
                have: table.len(),
            })?
            .0;
        let mut found = None;
        for (index, off) in offsets.iter().enumerate() {
            let offset = off.get();
            let o = offset as usize;
            if o.checked_add(4).is_none_or(|end| end > table.len()) {
                return Err(RscError::BadOffset { index, offset });
            }
            let rtype = U32::read_from_bytes(&table[o..o + 4])
                .expect("4 bytes")
                .get();
            if rtype != RSC_VDEV {
                continue; // carveouts, trace, vendor entries: not ours to judge
            }
            let (vdev, tail) =
                FwRscVdev::ref_from_prefix(&table[o..]).map_err(|_| RscError::VdevTruncated)?;
            let vrings_len = vdev.num_of_vrings as usize * core::mem::size_of::<FwRscVdevVring>();
            if vrings_len + vdev.config_len.get() as usize > tail.len() {
                return Err(RscError::VdevTruncated);
            }
            if vdev.reserved != [0, 0] {
                return Err(RscError::VdevReservedNonZero);
            }
            if vdev.id.get() == VIRTIO_ID_RPMSG && found.is_none() {
                found = Some((o, *vdev, tail));
            }
        }
        let (vdev_offset, vdev, tail) = found.ok_or(RscError::NoRpmsgVdev)?;
        if vdev.dfeatures.get() & (1 << VIRTIO_RPMSG_F_NS) == 0 {
            return Err(RscError::NoNameService);
        }
        if vdev.num_of_vrings != 2 {
            return Err(RscError::VringCount(vdev.num_of_vrings));
        }
        let (vr, _) = <[FwRscVdevVring]>::ref_from_prefix_with_elems(tail, 2)
            .map_err(|_| RscError::VdevTruncated)?;
        for (index, v) in vr.iter().enumerate() {
            let num = v.num.get();
            if !num.is_power_of_two() {
                return Err(RscError::BadVringNum { index, num });
            }
            let align = v.align.get();
            if !align.is_power_of_two() {
                return Err(RscError::BadVringAlign { index, align });
            }
        }
        Ok(Self {
            vdev_offset,
            dfeatures: vdev.dfeatures.get(),
            vrings: [vr[0], vr[1]],
        })
    }
}

/// Resource type of a carveout entry (`RSC_CARVEOUT`).
pub const RSC_CARVEOUT: u32 = 0;

/// `true` when byte `offset` of resource table `table` lies in a field the host writes while
/// it runs the remote core (Linux `remoteproc_core.c`, `remoteproc_virtio.c`):
///
/// * vdev entry: `notifyid`, `gfeatures` (`rproc_virtio_finalize_features()`), `status`
///   (`rproc_virtio_set_status()`, `rproc_virtio_reset()`) and the config space
///   (`rproc_virtio_set()`);
/// * each vring: `da` (`rp_find_vq()`) and `notifyid` (`rproc_alloc_vring()`);
/// * carveout entry: `da`, `pa`, `len` (`rproc_alloc_registered_carveouts()`).
///
/// Everything else (header, offsets, entry types, ids, `dfeatures`, ring sizes and
/// alignments) stays as the firmware's image has it. Entries are found through `table`'s own
/// header and offsets; bytes of a table that does not parse are never host-written.
pub fn is_host_written(table: &[u8], offset: usize) -> bool {
    let word = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            table.get(o..o.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let in_field = |start: usize, len: usize| offset >= start && offset < start + len;
    let Some(num) = word(4) else {
        return false;
    };
    for k in 0..num as usize {
        let Some(o) = word(16 + 4 * k).map(|o| o as usize) else {
            return false;
        };
        match word(o) {
            Some(RSC_VDEV) => {
                let (Some(config_len), Some(&nvr)) = (word(o + 20), table.get(o + 25)) else {
                    continue;
                };
                let vrings = o + core::mem::size_of::<FwRscVdev>();
                let config = vrings + usize::from(nvr) * core::mem::size_of::<FwRscVdevVring>();
                if in_field(o + 8, 4)
                    || in_field(o + 16, 4)
                    || in_field(o + 24, 1)
                    || in_field(config, config_len as usize)
                {
                    return true;
                }
                for i in 0..usize::from(nvr) {
                    let v = vrings + i * core::mem::size_of::<FwRscVdevVring>();
                    if in_field(v, 4) || in_field(v + 12, 4) {
                        return true;
                    }
                }
            }
            // struct fw_rsc_carveout: type, da, pa, len, flags, reserved, name[32].
            Some(RSC_CARVEOUT) if in_field(o + 4, 12) => return true,
            _ => {}
        }
    }
    false
}

/// `true` when the table read through `live` (byte at offset → value) is a live copy of
/// `pristine`, the firmware's own table: every byte equal except the fields the host writes
/// ([`is_host_written`]). The firmware can then keep what the host wrote there instead of
/// copying its pristine table over it.
///
/// `live` is called once per byte of `pristine`, in order (volatile reads of shared memory
/// fit).
pub fn is_live_copy(pristine: &[u8], mut live: impl FnMut(usize) -> u8) -> bool {
    let mut same = true;
    for (i, &b) in pristine.iter().enumerate() {
        let l = live(i);
        if l != b && !is_host_written(pristine, i) {
            same = false;
        }
    }
    same
}

/// Builds the resource table Zephyr's `resource_table.c` emits with `num` buffers per vring
/// (`RESOURCE_TABLE_INIT`): one RPMsg vdev with the name-service feature and two vrings of
/// alignment 16, notify ids 0 and 1, device addresses left to the host. 88 bytes.
///
/// Used by tests on both sides and by the host's simulated firmware.
pub fn zephyr_table(num: u32) -> [u8; 88] {
    let mut t = [0u8; 88];
    let hdr = TableHeader {
        ver: 1.into(),
        num: 1.into(),
        reserved: [0.into(); 2],
    };
    t[..16].copy_from_slice(hdr.as_bytes());
    t[16..20].copy_from_slice(&20u32.to_le_bytes());
    let vdev = FwRscVdev {
        rtype: RSC_VDEV.into(),
        id: VIRTIO_ID_RPMSG.into(),
        notifyid: 0.into(),
        dfeatures: (1u32 << VIRTIO_RPMSG_F_NS).into(),
        gfeatures: 0.into(),
        config_len: 0.into(),
        status: 0,
        num_of_vrings: 2,
        reserved: [0; 2],
    };
    t[20..48].copy_from_slice(vdev.as_bytes());
    for i in 0..2u32 {
        let v = FwRscVdevVring {
            da: FW_RSC_ADDR_ANY.into(),
            align: 16.into(),
            num: num.into(),
            notifyid: i.into(),
            pa: 0.into(),
        };
        let o = 48 + i as usize * 20;
        t[o..o + 20].copy_from_slice(v.as_bytes());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(t: &mut [u8], off: usize, v: u32) {
        t[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn zephyr_table_passes() {
        let t = zephyr_table(16);
        let v = RpmsgVdev::find(&t).unwrap();
        assert_eq!(v.vdev_offset, 20);
        assert_eq!(v.vrings[0].num.get(), 16);
        assert_eq!(v.vrings[1].notifyid.get(), 1);
        assert_eq!(v.vring_offset(1), 68);
    }

    #[test]
    fn each_linux_check_fires() {
        let good = zephyr_table(8);
        let case = |f: &dyn Fn(&mut [u8; 88])| {
            let mut t = good;
            f(&mut t);
            RpmsgVdev::find(&t)
        };
        assert_eq!(case(&|t| put(t, 0, 2)), Err(RscError::BadVersion(2)));
        assert_eq!(case(&|t| put(t, 8, 1)), Err(RscError::ReservedNonZero));
        assert_eq!(
            case(&|t| put(t, 4, 1000)),
            Err(RscError::Truncated {
                need: 4016,
                have: 88
            })
        );
        assert_eq!(
            case(&|t| put(t, 16, 86)),
            Err(RscError::BadOffset {
                index: 0,
                offset: 86
            })
        );
        assert_eq!(
            case(&|t| put(t, 16, u32::MAX)),
            Err(RscError::BadOffset {
                index: 0,
                offset: u32::MAX
            })
        );
        assert_eq!(
            case(&|t| put(t, 20 + 20, 1)),
            Err(RscError::VdevTruncated),
            "config_len past end"
        );
        assert_eq!(case(&|t| t[47] = 1), Err(RscError::VdevReservedNonZero));
        assert_eq!(case(&|t| put(t, 24, 5)), Err(RscError::NoRpmsgVdev));
        assert_eq!(case(&|t| put(t, 32, 0)), Err(RscError::NoNameService));
        assert_eq!(case(&|t| t[45] = 1), Err(RscError::VringCount(1)));
        assert_eq!(
            case(&|t| t[45] = 3),
            Err(RscError::VdevTruncated),
            "third vring past end"
        );
        assert_eq!(
            case(&|t| put(t, 56, 0)),
            Err(RscError::BadVringNum { index: 0, num: 0 })
        );
        assert_eq!(
            case(&|t| put(t, 76, 12)),
            Err(RscError::BadVringNum { index: 1, num: 12 })
        );
        assert_eq!(
            case(&|t| put(t, 52, 0)),
            Err(RscError::BadVringAlign { index: 0, align: 0 })
        );
        assert_eq!(
            case(&|t| put(t, 72, 24)),
            Err(RscError::BadVringAlign {
                index: 1,
                align: 24
            })
        );
        assert!(RpmsgVdev::find(&good[..10]).is_err());
    }

    #[test]
    fn host_written_fields_of_the_zephyr_table() {
        let t = zephyr_table(16);
        let written: Vec<usize> = (0..t.len()).filter(|&i| is_host_written(&t, i)).collect();
        // vdev notifyid 28..32, gfeatures 36..40, status 44; vring0 da 48..52, notifyid
        // 60..64; vring1 da 68..72, notifyid 80..84.
        let mut expect: Vec<usize> = (28..32).chain(36..40).chain([44]).collect();
        expect.extend((48..52).chain(60..64).chain(68..72).chain(80..84));
        assert_eq!(written, expect);
        assert!(
            !is_host_written(&t[..10], 44),
            "a truncated table has no fields"
        );
    }

    #[test]
    fn live_copy_keeps_what_linux_wrote() {
        let pristine = zephyr_table(16);
        // As Linux leaves it after starting the vdev: vring addresses, notify ids, status.
        let mut live = pristine;
        put(&mut live, 48, 0x8800_0000);
        put(&mut live, 68, 0x8800_8000);
        put(&mut live, 60, 0);
        put(&mut live, 80, 1);
        put(&mut live, 36, 1);
        live[44] = status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK;
        assert!(is_live_copy(&pristine, |i| live[i]));
        assert!(is_live_copy(&pristine, |i| pristine[i]));
        // Anything else differing: not the firmware's table.
        for (off, v) in [
            (0, 2),
            (4, 2),
            (16, 24),
            (24, 5),
            (32, 0),
            (56, 32),
            (76, 8),
        ] {
            let mut other = live;
            put(&mut other, off, v);
            assert!(!is_live_copy(&pristine, |i| other[i]), "offset {off}");
        }
        assert!(!is_live_copy(&pristine, |_| 0), "zeroed memory");
        assert!(!is_live_copy(&pristine, |_| 0xff), "erased memory");
    }

    #[test]
    fn carveout_fields_are_host_written() {
        // Header, one offset, one carveout entry (type 0, da, pa, len, flags, reserved, name).
        let mut t = [0u8; 16 + 4 + 56];
        put(&mut t, 0, 1);
        put(&mut t, 4, 1);
        put(&mut t, 16, 20);
        put(&mut t, 20, RSC_CARVEOUT);
        assert!((24..36).all(|i| is_host_written(&t, i)));
        assert!(!is_host_written(&t, 20) && !is_host_written(&t, 36));
    }

    #[test]
    fn skips_foreign_entries() {
        // A trace entry (type 2) before the vdev, as Zephyr emits with CONFIG_RAM_CONSOLE.
        let z = zephyr_table(4);
        let mut t = [0u8; 24 + 48 + 68];
        t[..16].copy_from_slice(&z[..16]);
        put(&mut t, 4, 2);
        put(&mut t, 16, 24 + 48); // vdev after the trace entry
        put(&mut t, 20, 24);
        put(&mut t, 24, 2);
        t[72..].copy_from_slice(&z[20..]);
        assert_eq!(RpmsgVdev::find(&t).unwrap().vdev_offset, 72);
    }
}
