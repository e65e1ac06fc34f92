//! Kick transports: how host and firmware notify each other that a vring changed.
//!
//! In simulation this is OpenAMP's Linux machine convention: a Unix-domain stream socket that
//! carries one byte per kick, in both directions (the firmware listens, the host connects). On
//! i.MX hardware the kick is an MU interrupt and Linux's imx_rproc driver handles it.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// A bidirectional kick channel.
pub trait Kick {
    /// Notifies the other side.
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the other side is gone.
    fn kick(&mut self) -> Result<()>;

    /// Waits up to `timeout` for kicks; returns how many arrived (0 on timeout).
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the other side is gone.
    fn wait(&mut self, timeout: Duration) -> Result<usize>;
}

/// One byte per kick on a Unix stream socket (OpenAMP Linux machine port).
pub struct SocketKick {
    sock: UnixStream,
}

impl SocketKick {
    /// Connects to the firmware's socket at `path`, retrying until `timeout` passes (the
    /// firmware may still be starting).
    ///
    /// # Errors
    /// The last connection error after `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        loop {
            match UnixStream::connect(path) {
                Ok(sock) => return Ok(Self { sock }),
                Err(e) if Instant::now() >= deadline => return Err(e.into()),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Kick for SocketKick {
    fn kick(&mut self) -> Result<()> {
        match self.sock.write_all(&[1]) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                Err(Error::Disconnected)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn wait(&mut self, timeout: Duration) -> Result<usize> {
        let mut buf = [0u8; 64];
        self.sock
            .set_read_timeout(Some(timeout.max(Duration::from_micros(1))))?;
        match self.sock.read(&mut buf) {
            Ok(0) => Err(Error::Disconnected),
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Err(Error::Disconnected),
            Err(e) => Err(e.into()),
        }
    }
}
