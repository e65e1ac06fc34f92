//! [`RpmsgLink`]: the one interface programs use to talk RPMsg to the firmware, whatever is
//! underneath: [`SimLink`] (this crate's own vdev host over a simulator's shared memory) or, on
//! real Linux, the kernel's virtio_rpmsg_bus through `/dev/rpmsg*` (rpmsg_char).

use std::path::Path;
use std::time::Duration;

use crate::bus::{Channel, Event, VirtioRpmsg};
use crate::kick::SocketKick;
use crate::shm::Shm;
use crate::{Error, Result};

/// RPMsg as a program on the Linux side sees it: named channels announced by the firmware,
/// datagrams of at most 496 bytes.
pub trait RpmsgLink {
    /// Processes pending traffic and returns the channels the firmware has announced.
    ///
    /// # Errors
    /// Backend errors.
    fn channels(&mut self) -> Result<Vec<Channel>>;

    /// Sends one message on channel `name`, waiting up to `timeout` for a buffer.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`], [`Error::MessageTooLarge`] (> 496 bytes, nothing sent),
    /// [`Error::TimedOut`].
    fn send(&mut self, name: &str, data: &[u8], timeout: Duration) -> Result<()>;

    /// Receives one message on channel `name`, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`], [`Error::TimedOut`].
    fn recv(&mut self, name: &str, timeout: Duration) -> Result<Vec<u8>>;
}

/// The simulator backend: [`VirtioRpmsg`] over the firmware's POSIX shared memory and kick
/// socket (firmware built for `native_sim`).
pub struct SimLink {
    bus: VirtioRpmsg<SocketKick>,
    resumed: bool,
}

impl SimLink {
    /// Connects to the firmware's kick socket `ipc` and shared-memory object `shm`, waiting up
    /// to `timeout` for both and for the resource table.
    ///
    /// # Errors
    /// I/O errors; [`Error::ResourceTable`] when no valid table appeared in time.
    pub fn attach(ipc: &Path, shm: &str, timeout: Duration) -> Result<Self> {
        Self::attach_at(ipc, shm, timeout, 0)
    }

    /// [`SimLink::attach`] for firmware whose shared memory starts at device address
    /// `phys_base` ([`VirtioRpmsg::attach_at`]).
    ///
    /// # Errors
    /// As [`SimLink::attach`].
    pub fn attach_at(ipc: &Path, shm: &str, timeout: Duration, phys_base: u64) -> Result<Self> {
        let kick = SocketKick::connect(ipc, timeout)?;
        let shm = Shm::open_posix(shm)?;
        let (bus, resumed) = VirtioRpmsg::attach_at(shm, kick, timeout, phys_base)?;
        Ok(Self { bus, resumed })
    }

    /// `true` when this host resumed the state a previous host left in shared memory.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The underlying vdev host.
    pub fn bus(&mut self) -> &mut VirtioRpmsg<SocketKick> {
        &mut self.bus
    }

    /// Waits up to `timeout` until channel `name` is announced.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`] after `timeout`.
    pub fn wait_channel(&mut self, name: &str, timeout: Duration) -> Result<Channel> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(c) = self.bus.channel(name) {
                return Ok(c);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(Error::NoSuchChannel(name.into()));
            }
            self.bus.poll(left.min(Duration::from_millis(50)))?;
        }
    }

    /// Drains queued events (for logging).
    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.bus.next_event()).collect()
    }
}

impl RpmsgLink for SimLink {
    fn channels(&mut self) -> Result<Vec<Channel>> {
        self.bus.process()?;
        Ok(self.bus.channels().to_vec())
    }

    fn send(&mut self, name: &str, data: &[u8], timeout: Duration) -> Result<()> {
        let ch = self.bus.channel(name)?;
        self.bus.send(ch.local, ch.remote, data, timeout)
    }

    fn recv(&mut self, name: &str, timeout: Duration) -> Result<Vec<u8>> {
        let ch = self.bus.channel(name)?;
        self.bus.recv(ch.local, timeout).map(|m| m.data)
    }
}
