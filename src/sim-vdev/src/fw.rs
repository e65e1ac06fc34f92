//! The firmware socket: 16-byte messages over a Unix `SOCK_SEQPACKET` connection, some with
//! one fd in `SCM_RIGHTS`. The protocol is described in the [crate documentation](crate).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    connect, recvmsg, sendmsg, socket, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Where the firmware listens unless told otherwise.
pub const DEFAULT_IPC: &str = "/tmp/mcore-rs.ipc.0";

/// Message kinds ([`Msg::kind`]).
pub mod kind {
    /// Both directions: a kick of vring [`Msg::vring`](super::Msg::vring).
    pub const KICK: u32 = 1;
    /// `mcore-vdev` → firmware, one fd: Linux's memory file; `arg` = bytes to map.
    pub const MEM: u32 = 2;
    /// Firmware → `mcore-vdev`: `arg` = 0 or a negative errno (`i64`).
    pub const MEM_ACK: u32 = 3;
    /// Firmware → `mcore-vdev`, first message, one fd: the resource-table memory; `arg` = its
    /// size in bytes.
    pub const RSC: u32 = 4;
}

/// One message: 16 bytes, little-endian.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Msg {
    /// One of [`kind`].
    pub kind: U32,
    /// Vring index (KICK), else 0.
    pub vring: U32,
    /// Kind-specific argument.
    pub arg: U64,
}

impl Msg {
    /// A message.
    pub fn new(kind: u32, vring: u32, arg: u64) -> Self {
        Self {
            kind: kind.into(),
            vring: vring.into(),
            arg: arg.into(),
        }
    }
}

/// A connected firmware socket.
#[derive(Debug)]
pub struct Link {
    sock: OwnedFd,
}

impl Link {
    /// Connects to the firmware listening at `path`, retrying every 50 ms while the path does
    /// not exist or nobody listens yet, for at most `timeout`.
    ///
    /// # Errors
    /// The last connect error once `timeout` passed, or any other socket error at once.
    pub fn connect(path: &Path, timeout: Duration) -> io::Result<Self> {
        let addr = UnixAddr::new(path)?;
        let deadline = Instant::now() + timeout;
        loop {
            let sock = socket(
                AddressFamily::Unix,
                SockType::SeqPacket,
                SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            match connect(sock.as_raw_fd(), &addr) {
                Ok(()) => return Ok(Self { sock }),
                Err(e @ (Errno::ENOENT | Errno::ECONNREFUSED)) if Instant::now() < deadline => {
                    log::debug!("firmware socket {}: {e}; retrying", path.display());
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Wraps an already connected `SOCK_SEQPACKET` socket (e.g. one end of a `socketpair`, or
    /// an accepted connection on the firmware side of a test).
    pub fn from_fd(sock: OwnedFd) -> Self {
        Self { sock }
    }

    /// Sends `msg`, with `fd` in `SCM_RIGHTS` if given.
    ///
    /// # Errors
    /// The socket error (`EPIPE` once the peer closed).
    pub fn send(&self, msg: &Msg, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
        let iov = [IoSlice::new(msg.as_bytes())];
        let fds: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
        let cmsgs: Vec<ControlMessage<'_>> = if fds.is_empty() {
            Vec::new()
        } else {
            vec![ControlMessage::ScmRights(&fds)]
        };
        sendmsg::<()>(
            self.sock.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        Ok(())
    }

    /// Receives one message and its fd, if one came with it. `Ok(None)`: the peer closed the
    /// connection. Blocks until a message arrives.
    ///
    /// # Errors
    /// A socket error, or `InvalidData` for a message that is not 16 bytes long.
    pub fn recv(&self) -> io::Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = [0u8; 17];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (bytes, fd) = loop {
            match recvmsg::<()>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(r) => {
                    let mut fd = None;
                    for c in r.cmsgs()? {
                        if let ControlMessageOwned::ScmRights(raw) = c {
                            for f in raw {
                                // SAFETY: the kernel just installed `f` in our fd table for
                                // this message; nothing else owns it.
                                let owned = unsafe { OwnedFd::from_raw_fd(f) };
                                // A second fd is closed when `owned` drops.
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (r.bytes, fd);
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        match bytes {
            0 => Ok(None),
            16 => Ok(Some((
                Msg::read_from_bytes(&buf[..16]).expect("16 bytes"),
                fd,
            ))),
            n => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("firmware message of {n} bytes, expected 16"),
            )),
        }
    }

    /// Waits until a message (or the end of the connection) can be received, for at most
    /// `timeout`. Returns whether one can.
    ///
    /// # Errors
    /// The `poll()` error.
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => Ok(n > 0),
            Err(Errno::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for Link {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::socketpair;
    use std::io::{Read, Seek, Write};

    #[test]
    fn messages_and_fds_cross() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let (a, b) = (Link::from_fd(a), Link::from_fd(b));
        assert_eq!(std::mem::size_of::<Msg>(), 16);
        assert_eq!(
            Msg::new(kind::MEM_ACK, 1, -27i64 as u64).as_bytes(),
            &[3, 0, 0, 0, 1, 0, 0, 0, 0xe5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        let mut f = std::fs::File::from(
            nix::sys::memfd::memfd_create("t", nix::sys::memfd::MFdFlags::MFD_CLOEXEC).unwrap(),
        );
        f.write_all(b"hello").unwrap();
        a.send(&Msg::new(kind::RSC, 0, 5), Some(f.as_fd())).unwrap();
        a.send(&Msg::new(kind::KICK, 1, 0), None).unwrap();
        assert!(b.wait(Duration::from_secs(1)).unwrap());
        let (m, fd) = b.recv().unwrap().unwrap();
        assert_eq!((m.kind.get(), m.arg.get()), (kind::RSC, 5));
        let mut got = String::new();
        let mut g = std::fs::File::from(fd.unwrap());
        g.rewind().unwrap();
        g.read_to_string(&mut got).unwrap();
        assert_eq!(got, "hello");
        let (m, fd) = b.recv().unwrap().unwrap();
        assert_eq!(
            (m.kind.get(), m.vring.get(), fd.is_none()),
            (kind::KICK, 1, true)
        );
        drop(a);
        assert!(b.recv().unwrap().is_none());
    }
}
