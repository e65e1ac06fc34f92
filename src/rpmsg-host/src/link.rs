//! [`RpmsgLink`]: the one interface programs use to talk RPMsg to the firmware through the
//! Linux kernel, and [`Target`], the command-line options that say where.
//!
//! The backend is the kernel's `rpmsg_char` ([`CharDevLink`]): on an i.MX target, and on a PC
//! inside User-Mode Linux, whose virtio rpmsg device is backed by the firmware running on
//! `native_sim`. The code path is the same in both places.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::chardev::{channels_in, CharDevLink};
use crate::{Error, Result};

/// A channel the firmware announced through the name service, as Linux shows it in
/// `/sys/bus/rpmsg/devices/*/{name,src,dst}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Service name (`rpmsg-client-sample`, `rpmsg-tty`, ...).
    pub name: String,
    /// The firmware endpoint's address.
    pub remote: u32,
    /// The Linux endpoint of the channel's driver, `RPMSG_ADDR_ANY` (0xffffffff) while no
    /// driver has bound it.
    pub local: u32,
}

/// RPMsg as a program on the Linux side sees it: named channels announced by the firmware,
/// datagrams of at most 496 bytes.
pub trait RpmsgLink {
    /// The channels the firmware has announced.
    ///
    /// # Errors
    /// Backend errors.
    fn channels(&mut self) -> Result<Vec<Channel>>;

    /// Sends one message on channel `name`, waiting up to `timeout` for a buffer.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`], [`Error::Refused`] (> 496 bytes: Linux's `EMSGSIZE`, nothing
    /// sent), [`Error::TimedOut`].
    fn send(&mut self, name: &str, data: &[u8], timeout: Duration) -> Result<()>;

    /// Receives one message on channel `name`, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`], [`Error::TimedOut`].
    fn recv(&mut self, name: &str, timeout: Duration) -> Result<Vec<u8>>;
}

/// Where the firmware is, as every host program takes it on its command line.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The rpmsg_char control device of the firmware's vdev (`CONFIG_RPMSG_CTRL`).
    #[arg(long, global = true, default_value = "/dev/rpmsg_ctrl0")]
    pub rpmsg_ctrl: PathBuf,
    /// Seconds to wait for a channel to be announced, and for replies.
    #[arg(long, global = true, default_value_t = 10.0)]
    pub timeout: f64,
}

impl Target {
    /// `--timeout` as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    /// Waits up to `--timeout` until the firmware has announced `channel`, then opens an
    /// rpmsg_char endpoint on it.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`] when it was not announced in time; [`CharDevLink::open`]'s.
    pub fn open(&self, channel: &str) -> Result<CharDevLink> {
        wait_channel(Path::new("/sys"), channel, self.timeout())?;
        CharDevLink::open(&self.rpmsg_ctrl, channel, self.timeout())
    }
}

/// Waits up to `timeout` until the sysfs tree at `sysfs` shows channel `name`.
///
/// # Errors
/// [`Error::NoSuchChannel`] after `timeout`; I/O errors reading sysfs.
pub fn wait_channel(sysfs: &Path, name: &str, timeout: Duration) -> Result<Channel> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(c) = channels_in(sysfs)?.into_iter().find(|c| c.name == name) {
            return Ok(c);
        }
        if Instant::now() >= deadline {
            return Err(Error::NoSuchChannel(name.into()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
