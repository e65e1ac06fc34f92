//! The host half of a virtio rpmsg vdev: what Linux `remoteproc` (vring and buffer allocation,
//! vdev status) and `virtio_rpmsg_bus` (name service, endpoints, buffer recycling) do.
//!
//! # Shared-memory layout (host-allocated, device addresses are offsets)
//! ```text
//! 0x0000  resource table, copied there by the firmware (zephyr,ipc_rsc_table)
//! 0x1000  vring0  host rx / device tx   (num entries, table's align)
//!   ..    vring1  host tx / device rx   (4 KiB aligned)
//!   ..    2 × num buffers of 512 bytes: rx buffers first, then tx (as Linux rpmsg_probe())
//!   ..    host state page (4 KiB): lets a restarted host re-attach without a firmware reset
//! ```
//!
//! Like Linux, the host reserves local addresses from 1024 (`RPMSG_RESERVED_ADDRESSES`) and
//! creates one local endpoint per channel the firmware announces.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rpmsg_proto::rsc::{status, RpmsgVdev, VIRTIO_RPMSG_F_NS};
use rpmsg_proto::{
    check_payload, NsFlags, NsMessage, RpmsgHeader, MAX_PAYLOAD, RPMSG_BUFFER_SIZE,
    RPMSG_HEADER_SIZE, RPMSG_NAME_SIZE, RPMSG_NS_ADDR,
};
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::kick::Kick;
use crate::shm::Shm;
use crate::vring::{vring_size, Vring, VRING_DESC_F_WRITE};
use crate::{Error, Result, Violation};

/// First local address the host hands out (Linux `RPMSG_RESERVED_ADDRESSES`).
pub const FIRST_LOCAL_ADDR: u32 = 1024;
/// Channels the host state page can hold.
pub const MAX_CHANNELS: usize = 16;
/// Largest ring the host state page supports.
pub const MAX_NUM: u16 = 256;
const PAGE: usize = 0x1000;
const STATE_MAGIC: u32 = u32::from_le_bytes(*b"MCRH");
const STATE_VERSION: u32 = 1;

/// A channel the firmware announced through the name service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Service name (`rpmsg-client-sample`, `rpmsg-tty`, ...).
    pub name: String,
    /// The firmware endpoint's address.
    pub remote: u32,
    /// The host endpoint created for it.
    pub local: u32,
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender's address.
    pub src: u32,
    /// Our endpoint's address.
    pub dst: u32,
    /// Payload (at most 496 bytes).
    pub data: Vec<u8>,
}

/// Something [`VirtioRpmsg::poll`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The firmware announced a channel.
    Announced(Channel),
    /// The firmware destroyed a channel.
    Destroyed(Channel),
    /// A message was queued for a host endpoint.
    Message {
        /// Host endpoint address.
        local: u32,
    },
    /// The firmware broke a rule for one message; the buffer was recycled and nothing else lost.
    Violation(Violation),
}

#[derive(Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct ChanRec {
    name: [u8; RPMSG_NAME_SIZE],
    remote: U32,
    local: U32,
}

/// Host state kept in shared memory so that a restarted host can re-attach.
#[derive(Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct StatePage {
    magic: U32,
    version: U32,
    num: U16,
    rx_last_used: U16,
    tx_last_used: U16,
    nchan: U16,
    next_addr: U32,
    tx_busy: [U32; (MAX_NUM as usize) / 32],
    chans: [ChanRec; MAX_CHANNELS],
}

/// Where everything lives in the shared memory, derived from the resource table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The checked vdev in the resource table at offset 0.
    pub vdev: RpmsgVdev,
    /// vring0: device → host.
    pub rx: Vring,
    /// vring1: host → device.
    pub tx: Vring,
    /// Offset of the first buffer.
    pub bufs: usize,
    /// Offset of the host state page.
    pub state: usize,
}

fn round_up(x: usize, a: usize) -> usize {
    x.div_ceil(a) * a
}

impl Layout {
    /// Plans vrings, buffers and the state page for the resource table's vdev in `shm_len` bytes.
    ///
    /// # Errors
    /// [`Error::ShmTooSmall`]; [`Error::ResourceTable`] for rings larger than [`MAX_NUM`].
    pub fn plan(vdev: RpmsgVdev, shm_len: usize) -> Result<Self> {
        let [v0, v1] = vdev.vrings;
        let (n0, n1) = (v0.num.get(), v1.num.get());
        if n0 != n1 || n0 > MAX_NUM as u32 {
            return Err(rpmsg_proto::rsc::RscError::BadVringNum { index: 1, num: n1 }.into());
        }
        let num = n0 as u16;
        let rx = Vring {
            base: PAGE,
            num,
            align: v0.align.get(),
        };
        let tx_base = round_up(rx.base + vring_size(num, rx.align), PAGE);
        let tx = Vring {
            base: tx_base,
            num,
            align: v1.align.get(),
        };
        let bufs = round_up(tx.base + vring_size(num, tx.align), PAGE);
        let state = round_up(bufs + 2 * num as usize * RPMSG_BUFFER_SIZE, PAGE);
        let need = state + PAGE;
        if need > shm_len {
            return Err(Error::ShmTooSmall {
                need,
                have: shm_len,
            });
        }
        Ok(Self {
            vdev,
            rx,
            tx,
            bufs,
            state,
        })
    }

    fn rx_buf(&self, id: u16) -> usize {
        self.bufs + id as usize * RPMSG_BUFFER_SIZE
    }

    fn tx_buf(&self, id: u16) -> usize {
        self.bufs + (self.rx.num as usize + id as usize) * RPMSG_BUFFER_SIZE
    }
}

/// The host side of one virtio rpmsg vdev.
pub struct VirtioRpmsg<K: Kick> {
    shm: Shm,
    kick: K,
    layout: Layout,
    rx_last_used: u16,
    tx_last_used: u16,
    tx_busy: Vec<bool>,
    next_addr: u32,
    channels: Vec<Channel>,
    inbox: Vec<(u32, VecDeque<Message>)>,
    events: VecDeque<Event>,
    phys_base: u64,
}

impl<K: Kick> VirtioRpmsg<K> {
    /// Waits up to `timeout` for the firmware to publish its resource table at offset 0 of
    /// `shm`, then either resumes the host state a previous host left in the shared memory
    /// (`resumed == true`) or sets the vdev up from scratch as Linux does: status
    /// ACKNOWLEDGE | DRIVER, features (name service), FEATURES_OK, vrings and buffers, rx
    /// buffers offered, DRIVER_OK, kick.
    ///
    /// # Errors
    /// [`Error::ResourceTable`] when no valid table appeared in time; [`Error::ShmTooSmall`];
    /// I/O errors of the kick transport.
    pub fn attach(shm: Shm, kick: K, timeout: Duration) -> Result<(Self, bool)> {
        Self::attach_at(shm, kick, timeout, 0)
    }

    /// [`VirtioRpmsg::attach`] for firmware that sees shared-memory offset 0 at device address
    /// `phys_base` (the `phys-base` of its shm node; 0 for this project's native_sim overlay,
    /// the shm's own address for firmware that uses identity mapping, such as Zephyr's C
    /// `openamp_rsc_table` sample). Vring and buffer addresses are written as
    /// `phys_base + offset`.
    ///
    /// # Errors
    /// As [`VirtioRpmsg::attach`].
    pub fn attach_at(shm: Shm, kick: K, timeout: Duration, phys_base: u64) -> Result<(Self, bool)> {
        let deadline = Instant::now() + timeout;
        let vdev = loop {
            let mut table = vec![0u8; PAGE.min(shm.len())];
            shm.read(0, &mut table)?;
            match RpmsgVdev::find(&table) {
                Ok(v) => break v,
                Err(e) if Instant::now() >= deadline => return Err(e.into()),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        let layout = Layout::plan(vdev, shm.len())?;
        let num = layout.rx.num;
        let mut this = Self {
            shm,
            kick,
            layout,
            rx_last_used: 0,
            tx_last_used: 0,
            tx_busy: vec![false; num as usize],
            next_addr: FIRST_LOCAL_ADDR,
            channels: Vec::new(),
            inbox: Vec::new(),
            events: VecDeque::new(),
            phys_base,
        };
        let resumed = this.status()? & status::DRIVER_OK != 0 && this.load_state()?;
        if !resumed {
            this.setup()?;
        }
        this.kick.kick()?;
        Ok((this, resumed))
    }

    fn status_off(&self) -> usize {
        self.layout.vdev.vdev_offset + 24
    }

    fn status(&self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.shm.read(self.status_off(), &mut b)?;
        Ok(b[0])
    }

    fn set_status(&self, s: u8) -> Result<()> {
        self.shm.write(self.status_off(), &[s])
    }

    fn setup(&mut self) -> Result<()> {
        let l = self.layout;
        self.set_status(0)?;
        self.set_status(status::ACKNOWLEDGE | status::DRIVER)?;
        // Accept only what we implement: the name service.
        let gfeatures = l.vdev.dfeatures & (1 << VIRTIO_RPMSG_F_NS);
        self.shm.set_u32(l.vdev.vdev_offset + 16, gfeatures)?;
        self.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK)?;
        for (i, ring) in [l.rx, l.tx].iter().enumerate() {
            ring.clear(&self.shm)?;
            let vr = l.vdev.vring_offset(i);
            let da = (self.phys_base + ring.base as u64) as u32;
            self.shm.set_u32(vr, da)?; // da
            self.shm.set_u32(vr + 16, da)?; // pa
        }
        for id in 0..l.rx.num {
            let addr = self.phys_base + l.rx_buf(id) as u64;
            l.rx.set_desc(
                &self.shm,
                id,
                addr,
                RPMSG_BUFFER_SIZE as u32,
                VRING_DESC_F_WRITE,
            )?;
            l.rx.offer(&self.shm, id)?;
        }
        for id in 0..l.tx.num {
            l.tx.set_desc(
                &self.shm,
                id,
                self.phys_base + l.tx_buf(id) as u64,
                RPMSG_BUFFER_SIZE as u32,
                0,
            )?;
        }
        self.save_state()?;
        self.set_status(
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        )
    }

    fn save_state(&self) -> Result<()> {
        let mut p = StatePage::new_zeroed();
        p.magic = STATE_MAGIC.into();
        p.version = STATE_VERSION.into();
        p.num = self.layout.rx.num.into();
        p.rx_last_used = self.rx_last_used.into();
        p.tx_last_used = self.tx_last_used.into();
        p.next_addr = self.next_addr.into();
        for (i, busy) in self.tx_busy.iter().enumerate() {
            if *busy {
                p.tx_busy[i / 32] = (p.tx_busy[i / 32].get() | 1 << (i % 32)).into();
            }
        }
        p.nchan = (self.channels.len() as u16).into();
        for (rec, ch) in p.chans.iter_mut().zip(&self.channels) {
            rec.name[..ch.name.len()].copy_from_slice(ch.name.as_bytes());
            rec.remote = ch.remote.into();
            rec.local = ch.local.into();
        }
        self.shm.write(self.layout.state, p.as_bytes())
    }

    fn load_state(&mut self) -> Result<bool> {
        let mut raw = vec![0u8; std::mem::size_of::<StatePage>()];
        self.shm.read(self.layout.state, &mut raw)?;
        let p = StatePage::read_from_bytes(&raw).expect("sized");
        if p.magic.get() != STATE_MAGIC
            || p.version.get() != STATE_VERSION
            || p.num.get() != self.layout.rx.num
            || p.nchan.get() as usize > MAX_CHANNELS
        {
            return Ok(false);
        }
        self.rx_last_used = p.rx_last_used.get();
        self.tx_last_used = p.tx_last_used.get();
        self.next_addr = p.next_addr.get();
        for (i, busy) in self.tx_busy.iter_mut().enumerate() {
            *busy = p.tx_busy[i / 32].get() & (1 << (i % 32)) != 0;
        }
        self.channels.clear();
        for rec in &p.chans[..p.nchan.get() as usize] {
            let end = rec
                .name
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(RPMSG_NAME_SIZE);
            let name = String::from_utf8_lossy(&rec.name[..end]).into_owned();
            self.channels.push(Channel {
                name,
                remote: rec.remote.get(),
                local: rec.local.get(),
            });
        }
        for ch in &self.channels {
            self.inbox.push((ch.local, VecDeque::new()));
        }
        Ok(true)
    }

    /// The planned layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Channels announced so far.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The channel named `name`.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`].
    pub fn channel(&self, name: &str) -> Result<Channel> {
        self.channels
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| Error::NoSuchChannel(name.into()))
    }

    /// Processes what the device put in vring0, and reclaims vring1 buffers. Non-blocking.
    /// Returns the number of messages taken off the ring; events are queued for
    /// [`VirtioRpmsg::next_event`].
    ///
    /// # Errors
    /// [`Error::Protocol`] for ring-level violations (indices, descriptors), after which the
    /// vdev needs a reset; per-message violations are [`Event::Violation`]s instead.
    pub fn process(&mut self) -> Result<usize> {
        let l = self.layout;
        let mut n = 0;
        while let Some((id, len)) = l.rx.next_used(&self.shm, self.rx_last_used)? {
            let r = self.take_message(id, len);
            self.rx_last_used = self.rx_last_used.wrapping_add(1);
            l.rx.offer(&self.shm, id)?;
            n += 1;
            if let Err(v) = r {
                self.events.push_back(Event::Violation(v));
            }
        }
        self.reclaim_tx()?;
        if n > 0 {
            self.save_state()?;
            self.kick.kick()?;
        }
        Ok(n)
    }

    fn take_message(&mut self, id: u16, len: u32) -> Result<(), Violation> {
        let max = RPMSG_BUFFER_SIZE as u32;
        if len > max || (len as usize) < RPMSG_HEADER_SIZE {
            return Err(Violation::BadLength { len, max });
        }
        let mut buf = vec![0u8; len as usize];
        self.shm
            .read(self.layout.rx_buf(id), &mut buf)
            .map_err(|_| Violation::BadLength { len, max })?;
        let (hdr, payload) = RpmsgHeader::read_from_prefix(&buf).expect("len >= 16");
        let plen = hdr.len.get() as usize;
        if plen > payload.len() {
            return Err(Violation::BadLength {
                len: plen as u32,
                max: payload.len() as u32,
            });
        }
        let (src, dst) = (hdr.src.get(), hdr.dst.get());
        let data = payload[..plen].to_vec();
        if dst == RPMSG_NS_ADDR {
            return self.name_service(&data);
        }
        match self.inbox.iter_mut().find(|(a, _)| *a == dst) {
            Some((_, q)) => {
                q.push_back(Message { src, dst, data });
                self.events.push_back(Event::Message { local: dst });
                Ok(())
            }
            None => Err(Violation::UnknownAddress { src, dst }),
        }
    }

    fn name_service(&mut self, data: &[u8]) -> Result<(), Violation> {
        let (name, addr, flags) =
            NsMessage::parse(data).map_err(|e| Violation::BadNameService(e.to_string()))?;
        match flags {
            NsFlags::Create => {
                if let Some(old) = self
                    .channels
                    .iter()
                    .position(|c| c.name == name && c.remote == addr)
                {
                    // The firmware restarted its endpoint: keep our local address.
                    let ch = self.channels[old].clone();
                    self.events.push_back(Event::Announced(ch));
                    return Ok(());
                }
                if self.channels.len() >= MAX_CHANNELS {
                    return Err(Violation::BadNameService(format!(
                        "more than {MAX_CHANNELS} channels"
                    )));
                }
                let ch = Channel {
                    name: name.into(),
                    remote: addr,
                    local: self.next_addr,
                };
                self.next_addr += 1;
                self.inbox.push((ch.local, VecDeque::new()));
                self.channels.push(ch.clone());
                self.events.push_back(Event::Announced(ch));
            }
            NsFlags::Destroy => {
                if let Some(i) = self
                    .channels
                    .iter()
                    .position(|c| c.name == name && c.remote == addr)
                {
                    let ch = self.channels.remove(i);
                    self.inbox.retain(|(a, _)| *a != ch.local);
                    self.events.push_back(Event::Destroyed(ch));
                }
            }
        }
        Ok(())
    }

    fn reclaim_tx(&mut self) -> Result<()> {
        let l = self.layout;
        while let Some((id, _)) = l.tx.next_used(&self.shm, self.tx_last_used)? {
            self.tx_last_used = self.tx_last_used.wrapping_add(1);
            if !std::mem::replace(&mut self.tx_busy[id as usize], false) {
                return Err(Violation::NotInFlight(id).into());
            }
        }
        Ok(())
    }

    /// The next queued event, if any.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Waits up to `timeout` for a kick, then [`VirtioRpmsg::process`]es. Returns the number of
    /// messages taken.
    ///
    /// # Errors
    /// As [`VirtioRpmsg::process`]; [`Error::Disconnected`] when the firmware is gone.
    pub fn poll(&mut self, timeout: Duration) -> Result<usize> {
        let n = self.process()?;
        if n > 0 {
            return Ok(n);
        }
        self.kick.wait(timeout)?;
        self.process()
    }

    /// Takes the oldest message queued for host endpoint `local`, without waiting.
    pub fn take(&mut self, local: u32) -> Option<Message> {
        self.inbox
            .iter_mut()
            .find(|(a, _)| *a == local)
            .and_then(|(_, q)| q.pop_front())
    }

    /// Waits up to `timeout` for a message to host endpoint `local`.
    ///
    /// # Errors
    /// [`Error::TimedOut`]; as [`VirtioRpmsg::poll`].
    pub fn recv(&mut self, local: u32, timeout: Duration) -> Result<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.take(local) {
                return Ok(m);
            }
            if self.process()? > 0 {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::TimedOut);
            }
            self.poll(left.min(Duration::from_millis(50)))?;
        }
    }

    /// Sends `data` from host endpoint `src` to firmware endpoint `dst` without waiting.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] for more than 496 bytes (nothing is sent);
    /// [`Error::WouldBlock`] when every transmit buffer is with the device.
    pub fn try_send(&mut self, src: u32, dst: u32, data: &[u8]) -> Result<()> {
        check_payload(data.len(), MAX_PAYLOAD)?;
        self.reclaim_tx()?;
        let id = self
            .tx_busy
            .iter()
            .position(|b| !b)
            .ok_or(Error::WouldBlock)? as u16;
        let l = self.layout;
        let hdr = RpmsgHeader::new(src, dst, data.len() as u16);
        let off = l.tx_buf(id);
        self.shm.write(off, hdr.as_bytes())?;
        self.shm.write(off + RPMSG_HEADER_SIZE, data)?;
        let len = (RPMSG_HEADER_SIZE + data.len()) as u32;
        l.tx.set_desc(&self.shm, id, self.phys_base + off as u64, len, 0)?;
        self.tx_busy[id as usize] = true;
        l.tx.offer(&self.shm, id)?;
        self.save_state()?;
        self.kick.kick()
    }

    /// [`VirtioRpmsg::try_send`], waiting up to `timeout` for a transmit buffer.
    ///
    /// # Errors
    /// [`Error::TimedOut`]; as [`VirtioRpmsg::try_send`].
    pub fn send(&mut self, src: u32, dst: u32, data: &[u8], timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.try_send(src, dst, data) {
                Err(Error::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::TimedOut);
                    }
                    self.poll(left.min(Duration::from_millis(10)))?;
                }
                r => return r,
            }
        }
    }

    /// The shared memory (for tests and tools).
    pub fn shm(&self) -> &Shm {
        &self.shm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpmsg_proto::rsc::zephyr_table;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts kicks; never waits.
    #[derive(Clone, Default)]
    struct TestKick(Rc<Cell<usize>>);

    impl Kick for TestKick {
        fn kick(&mut self) -> Result<()> {
            self.0.set(self.0.get() + 1);
            Ok(())
        }
        fn wait(&mut self, _: Duration) -> Result<usize> {
            Ok(0)
        }
    }

    /// The device (firmware) side of the rings, written for these tests only: it consumes
    /// avail entries in order and returns them through the used ring, as OpenAMP does.
    struct Device {
        layout: Layout,
        rx_avail: u16, // next avail entry of vring0 to fill
        tx_avail: u16, // next avail entry of vring1 to consume
    }

    impl Device {
        fn used_push(shm: &Shm, ring: &Vring, id: u32, len: u32) {
            let used = ring.base
                + round_up(
                    16 * ring.num as usize + 6 + 2 * ring.num as usize,
                    ring.align as usize,
                );
            let idx = shm.u16(used + 2).unwrap();
            let e = used + 4 + 8 * (idx % ring.num) as usize;
            shm.set_u32(e, id).unwrap();
            shm.set_u32(e + 4, len).unwrap();
            shm.set_u16(used + 2, idx.wrapping_add(1)).unwrap();
        }

        fn avail_id(shm: &Shm, ring: &Vring, n: u16) -> u16 {
            let ring_off = ring.base + 16 * ring.num as usize + 4 + 2 * (n % ring.num) as usize;
            shm.u16(ring_off).unwrap()
        }

        /// Sends a raw buffer (header + payload bytes) with used length `len`.
        fn send_raw(&mut self, shm: &Shm, bytes: &[u8], len: u32) {
            let ring = self.layout.rx;
            let id = Self::avail_id(shm, &ring, self.rx_avail);
            self.rx_avail = self.rx_avail.wrapping_add(1);
            let addr = ring.desc_addr(shm, id).unwrap() as usize;
            shm.write(addr, bytes).unwrap();
            Self::used_push(shm, &ring, id as u32, len);
        }

        fn send(&mut self, shm: &Shm, src: u32, dst: u32, payload: &[u8]) {
            let mut b = RpmsgHeader::new(src, dst, payload.len() as u16)
                .as_bytes()
                .to_vec();
            b.extend_from_slice(payload);
            let len = b.len() as u32;
            self.send_raw(shm, &b, len);
        }

        fn announce(&mut self, shm: &Shm, name: &str, addr: u32, flags: NsFlags) {
            let ns = NsMessage::new(name, addr, flags).unwrap();
            self.send(shm, addr, RPMSG_NS_ADDR, ns.as_bytes());
        }

        /// Consumes one host message: (src, dst, payload).
        fn recv(&mut self, shm: &Shm) -> Option<(u32, u32, Vec<u8>)> {
            let ring = self.layout.tx;
            if ring.avail_idx_get(shm).unwrap() == self.tx_avail {
                return None;
            }
            let id = Self::avail_id(shm, &ring, self.tx_avail);
            self.tx_avail = self.tx_avail.wrapping_add(1);
            let addr = ring.desc_addr(shm, id).unwrap() as usize;
            let mut h = [0u8; 16];
            shm.read(addr, &mut h).unwrap();
            let h = RpmsgHeader::read_from_bytes(&h).unwrap();
            let mut data = vec![0; h.len.get() as usize];
            shm.read(addr + 16, &mut data).unwrap();
            Self::used_push(shm, &ring, id as u32, 0);
            Some((h.src.get(), h.dst.get(), data))
        }
    }

    fn setup(num: u32) -> (VirtioRpmsg<TestKick>, Device, TestKick) {
        let shm = Shm::anonymous(64 * 1024).unwrap();
        shm.write(0, &zephyr_table(num)).unwrap();
        let k = TestKick::default();
        let (host, resumed) = VirtioRpmsg::attach(shm, k.clone(), Duration::ZERO).unwrap();
        assert!(!resumed);
        let dev = Device {
            layout: host.layout,
            rx_avail: 0,
            tx_avail: 0,
        };
        (host, dev, k)
    }

    #[test]
    fn attach_sets_up_the_vdev_as_linux() {
        let (host, _, kicks) = setup(4);
        let shm = host.shm();
        let mut b = [0u8; 1];
        shm.read(44, &mut b).unwrap();
        assert_eq!(
            b[0],
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK
        );
        assert_eq!(shm.u32(36).unwrap(), 1, "gfeatures = name service");
        assert_eq!(
            shm.u32(48).unwrap() as usize,
            host.layout.rx.base,
            "vring0 da"
        );
        assert_eq!(
            shm.u32(68).unwrap() as usize,
            host.layout.tx.base,
            "vring1 da"
        );
        assert_eq!(
            host.layout.rx.avail_idx_get(shm).unwrap(),
            4,
            "all rx buffers offered"
        );
        assert_eq!(kicks.0.get(), 1);
    }

    #[test]
    fn name_service_and_messages() {
        let (mut host, mut dev, _) = setup(4);
        dev.announce(host.shm(), "rpmsg-tty", 0x401, NsFlags::Create);
        host.process().unwrap();
        let ch = host.channel("rpmsg-tty").unwrap();
        assert_eq!((ch.remote, ch.local), (0x401, FIRST_LOCAL_ADDR));
        assert_eq!(host.next_event(), Some(Event::Announced(ch.clone())));

        host.try_send(ch.local, ch.remote, b"hello").unwrap();
        assert_eq!(dev.recv(host.shm()), Some((1024, 0x401, b"hello".to_vec())));
        dev.send(host.shm(), 0x401, 1024, b"TTY 0x0401: hello");
        assert_eq!(
            host.recv(1024, Duration::ZERO).unwrap().data,
            b"TTY 0x0401: hello"
        );

        dev.announce(host.shm(), "rpmsg-tty", 0x401, NsFlags::Destroy);
        host.process().unwrap();
        assert!(matches!(
            host.channel("rpmsg-tty"),
            Err(Error::NoSuchChannel(_))
        ));
    }

    #[test]
    fn per_message_violations_lose_nothing_else() {
        let (mut host, mut dev, _) = setup(8);
        dev.announce(host.shm(), "a", 0x400, NsFlags::Create);
        dev.send(host.shm(), 0x400, 0x999, b"lost");
        dev.send_raw(host.shm(), &[0u8; 16], 600);
        let mut bad = RpmsgHeader::new(0x400, 1024, 100).as_bytes().to_vec();
        bad.extend_from_slice(&[0; 4]);
        dev.send_raw(host.shm(), &bad, 20);
        let mut empty = NsMessage::new("x", 0x402, NsFlags::Create).unwrap();
        empty.name[0] = 0;
        dev.send(host.shm(), 0x402, RPMSG_NS_ADDR, empty.as_bytes());
        dev.send(host.shm(), 0x400, 1024, b"ok");
        assert_eq!(host.process().unwrap(), 6);
        let events: Vec<_> = std::iter::from_fn(|| host.next_event()).collect();
        assert!(
            events.contains(&Event::Violation(Violation::UnknownAddress {
                src: 0x400,
                dst: 0x999
            }))
        );
        assert!(events.contains(&Event::Violation(Violation::BadLength {
            len: 600,
            max: 512
        })));
        assert!(events.contains(&Event::Violation(Violation::BadLength { len: 100, max: 4 })));
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::Violation(Violation::BadNameService(_)))));
        assert_eq!(host.take(1024).unwrap().data, b"ok");
        // every buffer went back to the device
        assert_eq!(host.layout.rx.avail_idx_get(host.shm()).unwrap(), 8 + 6);
    }

    #[test]
    fn ring_level_violations_are_errors() {
        let (mut host, _, _) = setup(4);
        let l = host.layout;
        let used_idx = l.rx.base + round_up(16 * 4 + 6 + 8, 16) + 2;
        host.shm().set_u16(used_idx, 9).unwrap();
        assert!(matches!(
            host.process(),
            Err(Error::Protocol(Violation::UsedIndexAhead { .. }))
        ));
        host.shm().set_u16(used_idx, 0).unwrap();
        // tx: the device returns a descriptor we never sent
        Device::used_push(host.shm(), &l.tx, 2, 0);
        assert!(matches!(
            host.process(),
            Err(Error::Protocol(Violation::NotInFlight(2)))
        ));
    }

    #[test]
    fn send_limits_and_backpressure() {
        let (mut host, mut dev, _) = setup(4);
        let big = [0u8; 497];
        let avail = host.layout.tx.avail_idx_get(host.shm()).unwrap();
        assert!(matches!(
            host.try_send(1024, 0x400, &big),
            Err(Error::MessageTooLarge(rpmsg_proto::PayloadTooLarge {
                len: 497,
                max: 496
            }))
        ));
        assert_eq!(
            host.layout.tx.avail_idx_get(host.shm()).unwrap(),
            avail,
            "nothing offered"
        );
        host.try_send(1024, 0x400, &big[..496]).unwrap();
        for _ in 0..3 {
            host.try_send(1024, 0x400, b"x").unwrap();
        }
        assert!(matches!(
            host.try_send(1024, 0x400, b"y"),
            Err(Error::WouldBlock)
        ));
        assert!(matches!(
            host.send(1024, 0x400, b"y", Duration::from_millis(5)),
            Err(Error::TimedOut)
        ));
        assert_eq!(dev.recv(host.shm()).unwrap().2.len(), 496);
        host.try_send(1024, 0x400, b"y").unwrap();
    }

    #[test]
    fn restarted_host_resumes_from_shared_memory() {
        let (mut host, mut dev, _) = setup(4);
        dev.announce(host.shm(), "rpmsg-client-sample", 0x400, NsFlags::Create);
        host.process().unwrap();
        host.try_send(1024, 0x400, b"in flight").unwrap();
        // The host dies; the device keeps sending meanwhile.
        let VirtioRpmsg { shm, .. } = host;
        dev.send(&shm, 0x400, 1024, b"while away");
        let (mut host, resumed) =
            VirtioRpmsg::attach(shm, TestKick::default(), Duration::ZERO).unwrap();
        assert!(resumed);
        assert_eq!(host.channel("rpmsg-client-sample").unwrap().local, 1024);
        assert_eq!(host.recv(1024, Duration::ZERO).unwrap().data, b"while away");
        assert_eq!(dev.recv(host.shm()).unwrap().2, b"in flight");
        host.try_send(1024, 0x400, b"after").unwrap();
        assert_eq!(dev.recv(host.shm()).unwrap().2, b"after");
    }

    #[test]
    fn indices_wrap_around_u16() {
        let (mut host, mut dev, _) = setup(4);
        dev.announce(host.shm(), "e", 0x400, NsFlags::Create);
        host.process().unwrap();
        for i in 0..70_000u32 {
            dev.send(host.shm(), 0x400, 1024, &i.to_le_bytes());
            host.process().unwrap();
            assert_eq!(host.take(1024).unwrap().data, i.to_le_bytes());
            host.try_send(1024, 0x400, &i.to_le_bytes()).unwrap();
            assert_eq!(dev.recv(host.shm()).unwrap().2, i.to_le_bytes());
        }
        assert_eq!(host.rx_last_used, (70_001u32 % 65_536) as u16);
    }

    #[test]
    fn missing_table_times_out() {
        let shm = Shm::anonymous(64 * 1024).unwrap();
        assert!(matches!(
            VirtioRpmsg::attach(shm, TestKick::default(), Duration::from_millis(20)),
            Err(Error::ResourceTable(_))
        ));
        let shm = Shm::anonymous(8 * 1024).unwrap();
        shm.write(0, &zephyr_table(16)).unwrap();
        assert!(matches!(
            VirtioRpmsg::attach(shm, TestKick::default(), Duration::ZERO),
            Err(Error::ShmTooSmall { .. })
        ));
    }
}
