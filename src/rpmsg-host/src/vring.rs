//! Split virtqueues (virtio 1.1 §2.6, "legacy" layout as Linux `vring_init()` and OpenAMP
//! `vring_init()` compute it), driven from the driver (host) side as Linux
//! `drivers/virtio/virtio_ring.c` does for virtio_rpmsg_bus.
//!
//! ```text
//! desc[num]    16 B each: addr u64 | len u32 | flags u16 | next u16
//! avail        flags u16 | idx u16 | ring[num] u16 | used_event u16
//! (pad to align)
//! used         flags u16 | idx u16 | ring[num] { id u32, len u32 } | avail_event u16
//! ```
//!
//! Indices are free-running `u16`s; slot = idx % num. Every value read from the device side is
//! checked: a used index that runs ahead by more than `num`, a descriptor id out of range or a
//! length larger than the buffer is a [`crate::Error::Protocol`], never a panic.

use crate::shm::Shm;
use crate::{Error, Violation};

/// The device may write into the buffer (`VRING_DESC_F_WRITE`).
pub const VRING_DESC_F_WRITE: u16 = 2;

/// Bytes of a split virtqueue with `num` entries and used-ring alignment `align` (a power of two).
pub fn vring_size(num: u16, align: u32) -> usize {
    let num = num as usize;
    let align = align as usize;
    let avail_end = 16 * num + 4 + 2 * num + 2;
    let used = (avail_end + align - 1) & !(align - 1);
    used + 4 + 8 * num + 2
}

/// Offsets of one vring inside the shared memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vring {
    /// Offset of the descriptor table (= its device address).
    pub base: usize,
    /// Entries, a power of two.
    pub num: u16,
    /// Used-ring alignment in bytes.
    pub align: u32,
}

impl Vring {
    fn desc(&self, i: u16) -> usize {
        self.base + 16 * i as usize
    }
    fn avail_idx(&self) -> usize {
        self.base + 16 * self.num as usize + 2
    }
    fn avail_ring(&self, slot: u16) -> usize {
        self.avail_idx() + 2 + 2 * (slot % self.num) as usize
    }
    fn used(&self) -> usize {
        let avail_end = 16 * self.num as usize + 4 + 2 * self.num as usize + 2;
        let a = self.align as usize;
        self.base + ((avail_end + a - 1) & !(a - 1))
    }
    fn used_idx(&self) -> usize {
        self.used() + 2
    }
    fn used_ring(&self, slot: u16) -> usize {
        self.used() + 4 + 8 * (slot % self.num) as usize
    }

    /// Zeroes the whole ring.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] when the ring does not fit the memory.
    pub fn clear(&self, shm: &Shm) -> Result<(), Error> {
        shm.write(self.base, &vec![0; vring_size(self.num, self.align)])
    }

    /// Writes descriptor `i`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn set_desc(
        &self,
        shm: &Shm,
        i: u16,
        addr: u64,
        len: u32,
        flags: u16,
    ) -> Result<(), Error> {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&len.to_le_bytes());
        d[12..14].copy_from_slice(&flags.to_le_bytes());
        shm.write(self.desc(i), &d)
    }

    /// Device address of the buffer of descriptor `i`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn desc_addr(&self, shm: &Shm, i: u16) -> Result<u64, Error> {
        let mut b = [0; 8];
        shm.read(self.desc(i), &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The driver's `avail.idx`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn avail_idx_get(&self, shm: &Shm) -> Result<u16, Error> {
        shm.u16(self.avail_idx())
    }

    /// Offers descriptor `id` to the device: `ring[idx % num] = id`, then `idx += 1` (in that
    /// order, with a release fence in between, as `virtqueue_add_split()` does).
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn offer(&self, shm: &Shm, id: u16) -> Result<(), Error> {
        let idx = shm.u16(self.avail_idx())?;
        shm.set_u16(self.avail_ring(idx), id)?;
        shm.set_u16(self.avail_idx(), idx.wrapping_add(1))
    }

    /// Next used element after `last_used`, if the device returned one: `(id, len)`.
    ///
    /// # Errors
    /// [`Violation::UsedIndexAhead`] when the device claims more than `num` new elements,
    /// [`Violation::BadDescriptor`] for an id `>= num`.
    pub fn next_used(&self, shm: &Shm, last_used: u16) -> Result<Option<(u16, u32)>, Error> {
        let idx = shm.u16(self.used_idx())?;
        let pending = idx.wrapping_sub(last_used);
        if pending == 0 {
            return Ok(None);
        }
        if pending > self.num {
            return Err(Violation::UsedIndexAhead {
                used: idx,
                last: last_used,
                num: self.num,
            }
            .into());
        }
        let e = self.used_ring(last_used);
        let id = shm.u32(e)?;
        let len = shm.u32(e + 4)?;
        if id >= self.num as u32 {
            return Err(Violation::BadDescriptor { id, num: self.num }.into());
        }
        Ok(Some((id as u16, len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_matches_linux_vring_size() {
        // vring_size(256, 4096) = 0x2806 (OpenAMP Linux machine port), vring_size(16, 16).
        assert_eq!(vring_size(256, 0x1000), 0x2806);
        // 256 B of descriptors + 38 B avail = 294, padded to 304, + 134 B used ring.
        assert_eq!(vring_size(16, 16), 438);
    }

    #[test]
    fn offer_and_used_round_trip() {
        let shm = Shm::anonymous(8192).unwrap();
        let v = Vring {
            base: 0x100,
            num: 4,
            align: 16,
        };
        v.clear(&shm).unwrap();
        for i in 0..6u16 {
            v.offer(&shm, i % 4).unwrap();
        }
        assert_eq!(v.avail_idx_get(&shm).unwrap(), 6);
        assert_eq!(
            shm.u16(v.avail_ring(5)).unwrap(),
            1,
            "slot 5 % 4 = 1 holds the 6th id"
        );
        assert_eq!(v.next_used(&shm, 0).unwrap(), None);
        // the device returns descriptor 3 with 20 bytes
        shm.set_u32(v.used_ring(0), 3).unwrap();
        shm.set_u32(v.used_ring(0) + 4, 20).unwrap();
        shm.set_u16(v.used_idx(), 1).unwrap();
        assert_eq!(v.next_used(&shm, 0).unwrap(), Some((3, 20)));
        assert_eq!(v.next_used(&shm, 1).unwrap(), None);
    }

    #[test]
    fn wraps_at_u16() {
        let shm = Shm::anonymous(8192).unwrap();
        let v = Vring {
            base: 0,
            num: 4,
            align: 16,
        };
        shm.set_u16(v.used_idx(), 1).unwrap(); // 0xffff + 2
        shm.set_u32(v.used_ring(0xffff), 2).unwrap();
        assert_eq!(v.next_used(&shm, 0xffff).unwrap(), Some((2, 0)));
    }

    #[test]
    fn malformed_device_indices_are_errors() {
        let shm = Shm::anonymous(8192).unwrap();
        let v = Vring {
            base: 0,
            num: 4,
            align: 16,
        };
        shm.set_u16(v.used_idx(), 5).unwrap();
        assert!(matches!(
            v.next_used(&shm, 0),
            Err(Error::Protocol(Violation::UsedIndexAhead {
                used: 5,
                last: 0,
                num: 4
            }))
        ));
        shm.set_u16(v.used_idx(), 1).unwrap();
        shm.set_u32(v.used_ring(0), 9).unwrap();
        assert!(matches!(
            v.next_used(&shm, 0),
            Err(Error::Protocol(Violation::BadDescriptor { id: 9, num: 4 }))
        ));
    }
}
