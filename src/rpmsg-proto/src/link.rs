//! Link lifecycle rules of the device (firmware) side: is the vdev Linux drives still the one
//! the firmware brought up, and may a vring Linux describes be used at all.
//!
//! A new Linux (a kernel that crashed and came back, a kexec crash kernel, an orderly reboot)
//! does not resume the old vdev: `imx_rproc` attaches, `rproc_virtio_reset()` writes status 0,
//! `rp_find_vq()` zeroes both vrings and writes their `da`, `rpmsg_probe()` posts fresh
//! buffers, status becomes `DRIVER_OK` and Linux kicks once (Linux
//! `drivers/remoteproc/remoteproc_virtio.c`, `drivers/rpmsg/virtio_rpmsg_bus.c`). Nothing
//! marks it as a restart, so the firmware reads the signs from shared memory: see
//! [`detect_reset`]. The pure rules live here so that they are tested on the host; the
//! firmware (`zephyr_mcore::rpmsg`) gathers the values after invalidating its data cache.

use crate::rsc::status;

/// What the shared memory shows of one vring, read by the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingView {
    /// `da` of the vring in the resource table now (bytes, device address).
    pub da: u32,
    /// `avail->idx` written by Linux.
    pub avail_idx: u16,
    /// `used->idx` in the ring now.
    pub used_idx: u16,
}

/// What the device itself knows of one vring since it brought the link up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingState {
    /// `da` the vring was set up with (bytes).
    pub da: u32,
    /// Entries in the ring.
    pub num: u16,
    /// The device's own index into the available ring (OpenAMP `vq_available_idx`): how many
    /// buffers it has taken.
    pub avail_taken: u16,
    /// The `used->idx` the device last wrote (only the device writes it).
    pub used_written: u16,
}

/// Why the device concluded that a new driver (a new Linux) owns the vdev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// The vdev status lacks `DRIVER_OK` (`rproc_virtio_reset()` wrote 0, or the new driver is
    /// still negotiating).
    Status(u8),
    /// A vring's `da` in the resource table changed (the new driver placed it elsewhere).
    Moved {
        /// Vring index (0: device → Linux, 1: Linux → device).
        vring: usize,
        /// `da` at bring-up.
        was: u32,
        /// `da` now.
        now: u32,
    },
    /// `used->idx` is not what the device last wrote: the ring was zeroed.
    UsedIndex {
        /// Vring index.
        vring: usize,
        /// Value the device last wrote.
        written: u16,
        /// Value found.
        found: u16,
    },
    /// Linux offers more buffers than the ring holds beyond what the device took: the
    /// available index restarted.
    AvailJump {
        /// Vring index.
        vring: usize,
        /// The device's own available index.
        taken: u16,
        /// `avail->idx` found.
        found: u16,
    },
}

/// Decides whether the vdev was reset by a new driver instance, from the vdev `status` byte
/// and both vrings. The checks, in order: status lacks `DRIVER_OK`; a ring's `da` moved;
/// `used->idx` differs from what the device last wrote; `avail->idx − avail_taken` (mod 2¹⁶)
/// exceeds `num`. A silent Linux (lost heartbeat) is not a reset: nothing here changes.
///
/// The caller must read `status` and the rings after invalidating the data cache, and must not
/// race its own writes to `used->idx` (it holds the link lock).
pub fn detect_reset(vdev_status: u8, rings: &[(RingState, RingView); 2]) -> Option<Reset> {
    if vdev_status & status::DRIVER_OK == 0 {
        return Some(Reset::Status(vdev_status));
    }
    for (vring, (st, now)) in rings.iter().enumerate() {
        if now.da != st.da {
            return Some(Reset::Moved {
                vring,
                was: st.da,
                now: now.da,
            });
        }
        if now.used_idx != st.used_written {
            return Some(Reset::UsedIndex {
                vring,
                written: st.used_written,
                found: now.used_idx,
            });
        }
        if now.avail_idx.wrapping_sub(st.avail_taken) > st.num {
            return Some(Reset::AvailJump {
                vring,
                taken: st.avail_taken,
                found: now.avail_idx,
            });
        }
    }
    None
}

/// Bytes of a split virtqueue in the legacy contiguous layout (`vring_size()` of Linux
/// `include/uapi/linux/virtio_ring.h`, OpenAMP `virtio_ring.h`): descriptors (16 B each), the
/// available ring (6 + 2·num B) padded to `align`, the used ring (6 + 8·num B).
///
/// `None` when it overflows `u64` or `align` is not a power of two.
pub fn vring_size(num: u32, align: u32) -> Option<u64> {
    if !align.is_power_of_two() {
        return None;
    }
    let (num, align) = (u64::from(num), u64::from(align));
    let desc_avail = 16 * num + 6 + 2 * num;
    let padded = desc_avail.checked_add(align - 1)? & !(align - 1);
    padded.checked_add(6 + 8 * num)
}

/// Why a vring the resource table describes cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// `num` is 0, not a power of two, or above 32768 (virtio 1.1 §2.6).
    BadNum(u32),
    /// `align` is not a power of two.
    BadAlign(u32),
    /// The whole ring (`da .. da + vring_size`) is not inside the shared memory.
    OutsideShm {
        /// Device address of the ring.
        da: u32,
        /// Its size in bytes.
        size: u64,
        /// Device address of the shared memory.
        shm_da: u64,
        /// Shared-memory size in bytes.
        shm_size: u64,
    },
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            RingError::BadNum(n) => write!(f, "vring num {n} is not a power of two in 1..=32768"),
            RingError::BadAlign(a) => write!(f, "vring align {a} is not a power of two"),
            RingError::OutsideShm {
                da,
                size,
                shm_da,
                shm_size,
            } => write!(
                f,
                "vring at {da:#x} ({size} bytes) is not inside the shared memory \
                 {shm_da:#x}+{shm_size:#x}"
            ),
        }
    }
}

/// Checks that the vring Linux wrote into the resource table (`da`, `num`, `align`) lies wholly
/// in the shared memory at device address `shm_da` of `shm_size` bytes; returns its offset in
/// the shared memory (bytes).
///
/// # Errors
/// [`RingError`] naming the broken rule.
pub fn ring_offset(
    da: u32,
    num: u32,
    align: u32,
    shm_da: u64,
    shm_size: u64,
) -> Result<u64, RingError> {
    if num == 0 || !num.is_power_of_two() || num > 32768 {
        return Err(RingError::BadNum(num));
    }
    let size = vring_size(num, align).ok_or(RingError::BadAlign(align))?;
    let outside = RingError::OutsideShm {
        da,
        size,
        shm_da,
        shm_size,
    };
    let off = u64::from(da).checked_sub(shm_da).ok_or(outside)?;
    match off.checked_add(size) {
        Some(end) if end <= shm_size => Ok(off),
        _ => Err(outside),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: u8 = status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK;

    fn ring(da: u32, taken: u16, written: u16, avail: u16, used: u16) -> (RingState, RingView) {
        (
            RingState {
                da,
                num: 16,
                avail_taken: taken,
                used_written: written,
            },
            RingView {
                da,
                avail_idx: avail,
                used_idx: used,
            },
        )
    }

    #[test]
    fn a_live_link_is_not_a_reset() {
        // Linux has posted 16 rx buffers the device has not used yet; 3 messages in flight.
        let rings = [
            ring(0x8800_0000, 40, 40, 56, 40),
            ring(0x8800_8000, 37, 34, 40, 34),
        ];
        assert_eq!(detect_reset(UP, &rings), None);
        // Index wrap-around is not a jump.
        let rings = [
            ring(0x8800_0000, 65530, 65530, 10, 65530),
            ring(0x8800_8000, 0, 0, 0, 0),
        ];
        assert_eq!(detect_reset(UP, &rings), None);
    }

    #[test]
    fn status_without_driver_ok_is_a_reset() {
        let rings = [ring(0, 0, 0, 0, 0), ring(0, 0, 0, 0, 0)];
        assert_eq!(detect_reset(0, &rings), Some(Reset::Status(0)));
        assert_eq!(detect_reset(0x03, &rings), Some(Reset::Status(3)));
    }

    #[test]
    fn zeroed_used_index_is_a_reset() {
        // A new Linux memset the rings and already set DRIVER_OK and posted 16 buffers again.
        let mut rings = [
            ring(0x8800_0000, 1234, 1234, 1250, 1234),
            ring(0x8800_8000, 0, 0, 0, 0),
        ];
        rings[0].1 = RingView {
            da: 0x8800_0000,
            avail_idx: 16,
            used_idx: 0,
        };
        assert_eq!(
            detect_reset(UP, &rings),
            Some(Reset::UsedIndex {
                vring: 0,
                written: 1234,
                found: 0
            })
        );
    }

    #[test]
    fn available_index_jump_is_a_reset() {
        // used idx happens to match (the device had written 0 on this ring so far).
        let rings = [
            ring(0x8800_0000, 0, 0, 0, 0),
            ring(0x8800_8000, 100, 0, 17 + 100, 0),
        ];
        assert_eq!(
            detect_reset(UP, &rings),
            Some(Reset::AvailJump {
                vring: 1,
                taken: 100,
                found: 117
            })
        );
        // Exactly num outstanding is allowed.
        let rings = [
            ring(0x8800_0000, 0, 0, 16, 0),
            ring(0x8800_8000, 0, 0, 0, 0),
        ];
        assert_eq!(detect_reset(UP, &rings), None);
    }

    #[test]
    fn moved_ring_is_a_reset() {
        let mut rings = [ring(0x8800_0000, 0, 0, 0, 0), ring(0x8800_8000, 0, 0, 0, 0)];
        rings[1].1.da = 0x9000_0000;
        assert_eq!(
            detect_reset(UP, &rings),
            Some(Reset::Moved {
                vring: 1,
                was: 0x8800_8000,
                now: 0x9000_0000
            })
        );
    }

    #[test]
    fn vring_sizes_match_linux() {
        // vring_size(16, 16) = 16*16 + 6 + 32 = 294 -> 304, + 6 + 128 = 438.
        assert_eq!(vring_size(16, 16), Some(438));
        // UML: num 256, align 4096: 4096 + 512 + 6 -> 8192, + 6 + 2048 = 10246.
        assert_eq!(vring_size(256, 4096), Some(10246));
        assert_eq!(vring_size(16, 3), None);
    }

    #[test]
    fn ring_must_lie_wholly_in_shared_memory() {
        let shm = (0x8800_0000u64, 0x10_0000u64);
        assert_eq!(ring_offset(0x8800_8000, 16, 16, shm.0, shm.1), Ok(0x8000));
        // Starts inside, ends outside.
        let e = ring_offset(0x880f_ff00, 16, 16, shm.0, shm.1).unwrap_err();
        assert!(
            matches!(e, RingError::OutsideShm { size: 438, .. }),
            "{e:?}"
        );
        // Below the shared memory, and the u32 top.
        assert!(ring_offset(0x8000_0000, 16, 16, shm.0, shm.1).is_err());
        assert!(ring_offset(u32::MAX, 16, 16, 0, u64::MAX).is_ok());
        assert!(ring_offset(u32::MAX, 16, 16, 0, u64::from(u32::MAX)).is_err());
        assert_eq!(
            ring_offset(0x8800_0000, 0, 16, shm.0, shm.1),
            Err(RingError::BadNum(0))
        );
        assert_eq!(
            ring_offset(0x8800_0000, 12, 16, shm.0, shm.1),
            Err(RingError::BadNum(12))
        );
        assert_eq!(
            ring_offset(0x8800_0000, 16, 24, shm.0, shm.1),
            Err(RingError::BadAlign(24))
        );
        assert_eq!(
            ring_offset(0x8800_0000, 16, 24, shm.0, shm.1)
                .unwrap_err()
                .to_string(),
            "vring align 24 is not a power of two"
        );
    }
}
