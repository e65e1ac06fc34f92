//! Shared memory seen from the host: the firmware's POSIX shared-memory object (simulation) or
//! any other mapping, with bounds-checked volatile access.
//!
//! Device addresses in the resource table and in vring descriptors are byte offsets from the
//! start of this memory (device address 0 = first byte), as in OpenAMP's Linux machine port.

use std::io;
use std::path::Path;
use std::sync::atomic::{fence, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use crate::Error;

/// A mapped shared-memory region.
pub struct Shm {
    map: MmapRaw,
}

// SAFETY: the mapping is plain memory shared with another process; all access goes through
// volatile reads/writes with explicit fences, and `&mut self` methods serialise writers here.
unsafe impl Send for Shm {}

impl Shm {
    /// Maps the POSIX shared-memory object `name` (`/dev/shm/<name>` on Linux), read-write.
    ///
    /// # Errors
    /// The OS error when the object does not exist or cannot be mapped.
    pub fn open_posix(name: &str) -> io::Result<Self> {
        let name = name.trim_start_matches('/');
        Self::open_file(&Path::new("/dev/shm").join(name))
    }

    /// Maps a file read-write.
    ///
    /// # Errors
    /// The OS error.
    pub fn open_file(path: &Path) -> io::Result<Self> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        Ok(Self {
            map: MmapRaw::map_raw(&f)?,
        })
    }

    /// Anonymous zeroed memory of `len` bytes (tests, in-process simulation).
    ///
    /// # Errors
    /// The OS error.
    pub fn anonymous(len: usize) -> io::Result<Self> {
        Ok(Self {
            map: MmapOptions::new().len(len).map_anon()?.into(),
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` for an empty mapping.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    fn check(&self, off: usize, len: usize) -> Result<*mut u8, Error> {
        match off.checked_add(len) {
            Some(end) if end <= self.len() => {
                // SAFETY: `off + len <= self.len()`, inside the mapping.
                Ok(unsafe { self.map.as_mut_ptr().add(off) })
            }
            _ => Err(Error::OutOfBounds {
                offset: off as u64,
                len,
                size: self.len(),
            }),
        }
    }

    /// Copies `out.len()` bytes at `off` into `out`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] when the range leaves the mapping.
    pub fn read(&self, off: usize, out: &mut [u8]) -> Result<(), Error> {
        let p = self.check(off, out.len())?;
        fence(Ordering::Acquire);
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: checked range.
            *b = unsafe { p.add(i).read_volatile() };
        }
        Ok(())
    }

    /// Writes `data` at `off`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] when the range leaves the mapping.
    pub fn write(&self, off: usize, data: &[u8]) -> Result<(), Error> {
        let p = self.check(off, data.len())?;
        for (i, b) in data.iter().enumerate() {
            // SAFETY: checked range.
            unsafe { p.add(i).write_volatile(*b) };
        }
        fence(Ordering::Release);
        Ok(())
    }

    /// Reads a little-endian `u16` at `off`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn u16(&self, off: usize) -> Result<u16, Error> {
        let mut b = [0; 2];
        self.read(off, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Reads a little-endian `u32` at `off`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn u32(&self, off: usize) -> Result<u32, Error> {
        let mut b = [0; 4];
        self.read(off, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian `u16` at `off`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn set_u16(&self, off: usize, v: u16) -> Result<(), Error> {
        self.write(off, &v.to_le_bytes())
    }

    /// Writes a little-endian `u32` at `off`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn set_u32(&self, off: usize, v: u32) -> Result<(), Error> {
        self.write(off, &v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        let m = Shm::anonymous(4096).unwrap();
        m.set_u32(4092, 0xdead_beef).unwrap();
        assert_eq!(m.u32(4092).unwrap(), 0xdead_beef);
        assert!(matches!(
            m.u32(4093),
            Err(Error::OutOfBounds {
                offset: 4093,
                len: 4,
                size: 4096
            })
        ));
        assert!(m.write(usize::MAX, &[1]).is_err());
    }
}
