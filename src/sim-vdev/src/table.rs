//! The firmware's resource table, mapped `MAP_SHARED` from the fd of the `RSC` message, and
//! read and written while the firmware reads it.
//!
//! The [`translate`](crate::translate) layer works on a private copy
//! ([`SharedTable::snapshot`]); [`SharedTable::publish`] then stores what changed the way
//! Linux's plain stores reach the M-core's memory: whole aligned little-endian `u32` words, and
//! the vdev's status byte last, after a release fence, so that a firmware that sees
//! `DRIVER_OK` also sees every `da`, `num` and `gfeatures` written before it.

use std::fs::File;
use std::io;
use std::sync::atomic::{fence, Ordering};

use memmap2::{MmapMut, MmapOptions};

use crate::translate::status_offset;

/// A shared mapping of the resource table.
#[derive(Debug)]
pub struct SharedTable {
    map: MmapMut,
}

impl SharedTable {
    /// Maps the first `len` bytes of `file` shared, read-write.
    ///
    /// # Errors
    /// `InvalidInput` for `len` 0, or the `mmap()` error.
    pub fn map(file: &File, len: usize) -> io::Result<Self> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "resource table of 0 bytes",
            ));
        }
        // SAFETY: the mapping is only ever accessed through raw pointers with volatile loads and
        // stores (snapshot(), publish()), never through a Rust reference to its bytes, so the
        // firmware changing the shared memory concurrently breaks no aliasing rule; a file
        // shrunk under us would SIGBUS, which the firmware (a POSIX shm object it sized once)
        // does not do.
        let map = unsafe { MmapOptions::new().len(len).map_mut(file)? };
        Ok(Self { map })
    }

    /// Maps anonymous memory holding `bytes` (for tests).
    ///
    /// # Errors
    /// The `mmap()` error.
    pub fn anonymous(bytes: &[u8]) -> io::Result<Self> {
        let mut t = Self {
            map: MmapMut::map_anon(bytes.len().max(1))?,
        };
        let zero = vec![0; bytes.len()];
        t.publish(&zero, bytes);
        Ok(t)
    }

    /// Size of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the mapping is empty (never: [`SharedTable::map`] refuses 0 bytes).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A copy of the table as it is now.
    pub fn snapshot(&self) -> Vec<u8> {
        let p = self.map.as_ptr();
        (0..self.map.len())
            // SAFETY: i < len: inside the live mapping; u8 loads need no alignment.
            .map(|i| unsafe { p.add(i).read_volatile() })
            .collect()
    }

    /// Stores the bytes in which `after` differs from `before` (both as long as the mapping,
    /// else only the common prefix is considered): each changed 4-byte word with one aligned
    /// volatile `u32` store, the vdev status byte (found in `after`) last, alone, after a
    /// release fence.
    pub fn publish(&mut self, before: &[u8], after: &[u8]) {
        let len = self.map.len().min(before.len()).min(after.len());
        let status = status_offset(after).filter(|&s| s < len);
        let p = self.map.as_mut_ptr();
        let mut word = 0;
        while word < len {
            let end = (word + 4).min(len);
            if before[word..end] != after[word..end] {
                let has_status = status.is_some_and(|s| (word..end).contains(&s));
                if end - word == 4 && !has_status {
                    let v = u32::from_ne_bytes(after[word..end].try_into().expect("4 bytes"));
                    // SAFETY: word + 4 <= len: inside the mapping; the mapping is page-aligned
                    // and word is a multiple of 4, so the u32 store is aligned.
                    unsafe { p.add(word).cast::<u32>().write_volatile(v) };
                } else {
                    for i in word..end {
                        if Some(i) != status && before[i] != after[i] {
                            // SAFETY: i < len: inside the mapping.
                            unsafe { p.add(i).write_volatile(after[i]) };
                        }
                    }
                }
            }
            word = end;
        }
        if let Some(s) = status.filter(|&s| before[s] != after[s]) {
            fence(Ordering::Release);
            // SAFETY: s < len: inside the mapping.
            unsafe { p.add(s).write_volatile(after[s]) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpmsg_proto::rsc::zephyr_table;

    #[test]
    fn publish_writes_only_changes() {
        let t0 = zephyr_table(16);
        let mut t = SharedTable::anonymous(&t0).unwrap();
        assert_eq!(t.snapshot(), t0);
        let mut t1 = t0;
        t1[44] = 7; // status
        t1[48..52].copy_from_slice(&0x1234_5678u32.to_le_bytes()); // vring 0 da
        t1[87] = 9; // last byte
                    // A byte the firmware changed meanwhile is not overwritten: it did not change between
                    // before and after.
        let mut live = t0;
        live[60] = 0xaa;
        t.publish(&t0, &live);
        t.publish(&t0, &t1);
        let mut want = t1;
        want[60] = 0xaa;
        assert_eq!(t.snapshot(), want);
        assert_eq!(t.len(), 88);
    }
}
