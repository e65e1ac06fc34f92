//! The one vhost-user message of User-Mode Linux 6.1 that rust-vmm's `vhost` refuses.
//!
//! UML's `vhost_user_set_mem_table()` (`arch/um/drivers/virtio_uml.c`) sends `SET_MEM_TABLE`
//! with `header.size = sizeof(struct vhost_user_mem_regions)`: room for two regions (8 + 2 × 32
//! = 72 bytes) while `num` is 1. The vhost-user specification sizes the payload by `num`, and
//! `vhost`'s `BackendReqHandler::set_mem_table()` rejects any other size as an invalid message,
//! so UML's probe fails ("slave reports error: 1", `virtio_rpmsg_bus: probe of virtio0 failed
//! with error -5`). [`take_set_mem_table`] reads exactly that message off the socket before the
//! library sees it and returns it decoded, so the caller can hand it to the same
//! `VhostUserBackendReqHandlerMut::set_mem_table()` and answer it itself.

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::fd::{FromRawFd, RawFd};

use nix::sys::socket::{recv, recvmsg, send, ControlMessageOwned, MsgFlags};
use vhost::vhost_user::message::VhostUserMemoryRegion;

/// `VHOST_USER_SET_MEM_TABLE`.
const SET_MEM_TABLE: u32 = 5;
/// Header flags: version 1, reply, need-reply (vhost-user specification, "Header").
const VERSION_1: u32 = 0x1;
const REPLY: u32 = 0x4;
const NEED_REPLY: u32 = 0x8;
const HEADER: usize = 12;
const REGION: usize = 32;

/// A `SET_MEM_TABLE` as UML sends it: the regions in use, their fds, and whether a reply is
/// expected.
pub struct MemTable {
    /// The `num` regions in use.
    pub regions: Vec<VhostUserMemoryRegion>,
    /// One fd per region.
    pub files: Vec<File>,
    /// The frontend set NEED_REPLY: answer with [`reply`].
    pub need_reply: bool,
}

/// Whether a peeked header + payload start is UML's oversized `SET_MEM_TABLE`: request 5,
/// version 1, `num` regions with `8 + num·32 < size ≤ 8 + 8·32`.
pub fn is_oversized_set_mem_table(peek: &[u8]) -> bool {
    if peek.len() < HEADER + 4 {
        return false;
    }
    let u32_at = |o: usize| u32::from_le_bytes(peek[o..o + 4].try_into().unwrap());
    let (req, flags, size, num) = (
        u32_at(0),
        u32_at(4),
        u32_at(8) as usize,
        u32_at(12) as usize,
    );
    req == SET_MEM_TABLE
        && flags & 0x3 == VERSION_1
        && (1..=8).contains(&num)
        && size > 8 + num * REGION
        && size <= 8 + 8 * REGION
}

/// If the next message on the vhost-user socket `fd` is UML's oversized `SET_MEM_TABLE`,
/// reads it (with its fds) and returns it; otherwise leaves the socket untouched and returns
/// `None`.
///
/// # Errors
/// Socket errors; `InvalidData` when the message carries fewer fds than regions.
pub fn take_set_mem_table(fd: RawFd) -> io::Result<Option<MemTable>> {
    let mut peek = [0u8; HEADER + 4];
    let n = recv(fd, &mut peek, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT)
        .map_err(io::Error::from)?;
    if !is_oversized_set_mem_table(&peek[..n]) {
        return Ok(None);
    }
    let size = u32::from_le_bytes(peek[8..12].try_into().unwrap()) as usize;
    let mut buf = vec![0u8; HEADER + size];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 8]);
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    let got = msg.bytes;
    let mut files = Vec::new();
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: the kernel just installed these fds in our table for this message; nothing
            // else owns them.
            files.extend(raw.into_iter().map(|f| unsafe { File::from_raw_fd(f) }));
        }
    }
    if got != HEADER + size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "short SET_MEM_TABLE",
        ));
    }
    let flags = u32::from_le_bytes(buf[4..8].try_into().unwrap());
    let num = u32::from_le_bytes(buf[HEADER..HEADER + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(buf[o..o + 8].try_into().unwrap());
    let regions: Vec<_> = (0..num)
        .map(|i| {
            let o = HEADER + 8 + i * REGION;
            VhostUserMemoryRegion::new(u64_at(o), u64_at(o + 8), u64_at(o + 16), u64_at(o + 24))
        })
        .collect();
    if files.len() != num {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "SET_MEM_TABLE with {num} regions carries {} fds",
                files.len()
            ),
        ));
    }
    Ok(Some(MemTable {
        regions,
        files,
        need_reply: flags & NEED_REPLY != 0,
    }))
}

/// Sends the u64 reply to `SET_MEM_TABLE`: 0 for success, 1 for failure (vhost-user
/// `REPLY_ACK`).
///
/// # Errors
/// Socket errors.
pub fn reply(fd: RawFd, ok: bool) -> io::Result<()> {
    let mut m = [0u8; HEADER + 8];
    m[0..4].copy_from_slice(&SET_MEM_TABLE.to_le_bytes());
    m[4..8].copy_from_slice(&(VERSION_1 | REPLY).to_le_bytes());
    m[8..12].copy_from_slice(&8u32.to_le_bytes());
    m[12..20].copy_from_slice(&u64::from(!ok).to_le_bytes());
    let n = send(fd, &m, MsgFlags::MSG_NOSIGNAL).map_err(io::Error::from)?;
    if n != m.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short reply"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{sendmsg, ControlMessage};
    use std::io::{IoSlice, Read};
    use std::os::fd::{AsRawFd, IntoRawFd};
    use std::os::unix::net::UnixStream;

    fn header(req: u32, flags: u32, size: u32, num: u32) -> Vec<u8> {
        [req, flags, size, num]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    #[test]
    fn recognises_only_umls_oversized_message() {
        assert!(is_oversized_set_mem_table(&header(
            5,
            1 | NEED_REPLY,
            72,
            1
        )));
        // What the specification (and QEMU) sends: left to the library.
        assert!(!is_oversized_set_mem_table(&header(5, 1, 40, 1)));
        assert!(!is_oversized_set_mem_table(&header(6, 1, 72, 1)));
        assert!(!is_oversized_set_mem_table(&header(5, 2, 72, 1)));
        assert!(!is_oversized_set_mem_table(&header(5, 1, 72, 0)));
        assert!(!is_oversized_set_mem_table(&header(5, 1, 4096, 1)));
        assert!(!is_oversized_set_mem_table(&header(5, 1, 72, 1)[..12]));
    }

    #[test]
    fn reads_umls_message_with_its_fd_and_replies() {
        let (uml, dev) = UnixStream::pair().unwrap();
        // UML 6.1: one region of 128 MiB at guest = user = mmap_offset, two slots sent.
        let mut m = header(5, 1 | NEED_REPLY, 72, 1);
        m.extend(0u32.to_le_bytes()); // padding
        for v in [0x60_0000u64, 0x780_0000, 0x60_0000, 0x60_0000, 0, 0, 0, 0] {
            m.extend(v.to_le_bytes());
        }
        let memfd = File::open("/dev/null").unwrap().into_raw_fd();
        sendmsg::<()>(
            uml.as_raw_fd(),
            &[IoSlice::new(&m)],
            &[ControlMessage::ScmRights(&[memfd])],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        // A following message stays in the socket.
        sendmsg::<()>(
            uml.as_raw_fd(),
            &[IoSlice::new(&header(8, 1, 8, 0))],
            &[],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        let t = take_set_mem_table(dev.as_raw_fd()).unwrap().unwrap();
        assert_eq!(t.regions.len(), 1);
        let r = &t.regions[0];
        assert_eq!(
            (r.guest_phys_addr, r.memory_size, r.user_addr, r.mmap_offset),
            (0x60_0000, 0x780_0000, 0x60_0000, 0x60_0000)
        );
        assert_eq!(t.files.len(), 1);
        assert!(t.need_reply);
        assert!(
            take_set_mem_table(dev.as_raw_fd()).unwrap().is_none(),
            "next message untouched"
        );
        let mut dev = dev;
        let mut next = [0u8; 16];
        dev.read_exact(&mut next).unwrap();
        assert_eq!(
            next.to_vec(),
            header(8, 1, 8, 0),
            "the following message is intact"
        );
        reply(dev.as_raw_fd(), true).unwrap();
        let mut uml = uml;
        let mut b = [0u8; 20];
        uml.read_exact(&mut b).unwrap();
        assert_eq!(&b[..12], &header(5, 1 | REPLY, 8, 0)[..12]);
        assert_eq!(&b[12..20], &0u64.to_le_bytes());
    }
}
