//! The vhost-user request handler: decodes each request into a [`Request`], records it, runs it
//! through the [`Translator`] on a copy of the shared resource table, publishes the writes, and
//! keeps the connection's fds; plus the kick relay between Linux and the firmware.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use vhost::vhost_user::message::{
    VhostTransferStateDirection, VhostTransferStatePhase, VhostUserConfigFlags, VhostUserInflight,
    VhostUserLog, VhostUserMemoryRegion, VhostUserProtocolFeatures, VhostUserShMemConfig,
    VhostUserSharedMsg, VhostUserSingleMemoryRegion, VhostUserVringAddrFlags, VhostUserVringState,
};
use vhost::vhost_user::{Backend, Error as VuError, GpuBackend, VhostUserBackendReqHandlerMut};
use vhost::VhostUserMemoryRegionBase;

use crate::fw::{kind, Link, Msg};
use crate::table::SharedTable;
use crate::translate::{status_offset, Action, Region, Request, Translator};

type VuResult<T> = Result<T, VuError>;

/// How long `SET_MEM_TABLE` waits for the firmware's `MEM_ACK`.
pub const MEM_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The device behind one vhost-user socket, across all the connections made to it.
pub struct Device {
    link: Link,
    table: SharedTable,
    translator: Translator,
    kick: [Option<File>; 2],
    call: [Option<File>; 2],
    /// The backend-request channel. Never used, but kept open: UML breaks the device when it
    /// sees EOF on it.
    backend_req: Option<Backend>,
    record: Option<File>,
}

impl Device {
    /// A device serving the firmware behind `link`, whose resource table is `table`.
    /// `record`: a file to which each vhost-user request is appended as one JSON line.
    pub fn new(link: Link, table: SharedTable, record: Option<File>) -> Self {
        Self {
            link,
            table,
            translator: Translator::new(),
            kick: [None, None],
            call: [None, None],
            backend_req: None,
            record,
        }
    }

    /// The firmware link (to poll it).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Linux's kick fds to poll, as (vring, fd). The fds stay open until the next request that
    /// replaces them or [`Device::disconnect`].
    pub fn kick_fds(&self) -> Vec<(u32, RawFd)> {
        (0..2)
            .filter_map(|i| Some((i as u32, self.kick[i].as_ref()?.as_raw_fd())))
            .collect()
    }

    /// Reads the pending kick of `vring` from its kick fd (call it when the fd is readable)
    /// and sends the firmware a `KICK`.
    ///
    /// # Errors
    /// The read or send error.
    pub fn forward_kick(&mut self, vring: u32) -> io::Result<()> {
        let Some(mut f) = self.kick.get(vring as usize).and_then(Option::as_ref) else {
            return Ok(());
        };
        let mut v = [0u8; 8];
        let n = f.read(&mut v)?;
        log::trace!("Linux kicked vring {vring} ({n} bytes)");
        // The first kick of vring 0 is when Linux has set DRIVER_OK: write it before the
        // firmware hears the kick.
        self.apply(Request::Kick { index: vring })
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.link.send(&Msg::new(kind::KICK, vring, 0), None)
    }

    /// Receives and handles one firmware message (call it when the link is readable).
    /// Returns `Ok(false)` when the firmware closed the connection.
    ///
    /// # Errors
    /// The socket error, or a malformed message.
    pub fn firmware_message(&mut self) -> io::Result<bool> {
        let Some((msg, _fd)) = self.link.recv()? else {
            return Ok(false);
        };
        match msg.kind.get() {
            kind::KICK => self.signal_calls(),
            k => log::warn!("ignoring firmware message of kind {k} (arg {:#x})", msg.arg),
        }
        Ok(true)
    }

    /// Writes the 8-byte value 1 to the call fd of both vrings (as Linux's
    /// `imx_rproc_rx_callback()` services every virtqueue), skipping vrings without a call fd
    /// and fds that are not writable right now (Linux has a notification pending anyway).
    pub fn signal_calls(&self) {
        for (i, f) in self.call.iter().enumerate() {
            let Some(mut f) = f.as_ref() else { continue };
            let mut p = [PollFd::new(f.as_fd(), PollFlags::POLLOUT)];
            if !matches!(poll(&mut p, PollTimeout::ZERO), Ok(1)) {
                log::debug!("call fd of vring {i} not writable; skipped");
                continue;
            }
            if let Err(e) = f.write_all(&1u64.to_ne_bytes()) {
                log::warn!("call fd of vring {i}: {e}");
            }
        }
    }

    /// Ends the current vhost-user connection: writes nothing into the table (a crashed Linux
    /// leaves `DRIVER_OK` behind, as on the SoC), drops the connection's fds.
    pub fn disconnect(&mut self) {
        let _ = self.apply(Request::Eof);
        self.kick = [None, None];
        self.call = [None, None];
        self.backend_req = None;
    }

    fn apply(&mut self, req: Request) -> VuResult<Action> {
        log::debug!("vhost-user request (numbers in hex): {req:x?}");
        if let Some(f) = self.record.as_mut() {
            let line = serde_json::to_string(&req).expect("Request serializes") + "\n";
            if let Err(e) = f.write_all(line.as_bytes()) {
                log::warn!("--record: {e}; recording stops");
                self.record = None;
            }
        }
        let before = self.table.snapshot();
        let mut after = before.clone();
        let action = self
            .translator
            .handle(&mut after, &req)
            .map_err(|e| VuError::ReqHandlerError(io::Error::other(e)))?;
        self.table.publish(&before, &after);
        if let Some(s) = status_offset(&after).filter(|&s| before[s] != after[s]) {
            log::info!("status {:#04x} -> {:#04x}", before[s], after[s]);
        }
        Ok(action)
    }

    fn refuse<T>(&mut self, name: &str) -> VuResult<T> {
        self.apply(Request::Unsupported { name: name.into() })?;
        Err(VuError::InvalidOperation("unsupported request"))
    }

    fn reply(&mut self, req: Request) -> VuResult<u64> {
        match self.apply(req)? {
            Action::Reply(v) => Ok(v),
            _ => Err(VuError::InvalidOperation("no reply")),
        }
    }

    /// Sends `MEM` and waits for `MEM_ACK`, relaying firmware kicks meanwhile.
    fn map_memory(&mut self, file: &File, len: u64) -> io::Result<()> {
        self.link
            .send(&Msg::new(kind::MEM, 0, len), Some(file.as_fd()))?;
        let deadline = Instant::now() + MEM_ACK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no MEM_ACK from the firmware within {MEM_ACK_TIMEOUT:?}"),
                ));
            }
            if !self.link.wait(left)? {
                continue;
            }
            let Some((msg, _)) = self.link.recv()? else {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the firmware closed the connection",
                ));
            };
            match msg.kind.get() {
                kind::MEM_ACK => {
                    return match msg.arg.get() as i64 {
                        0 => {
                            log::info!("firmware mapped {len:#x} bytes of Linux memory");
                            Ok(())
                        }
                        e => {
                            let err = io::Error::from_raw_os_error(
                                i32::try_from(-e).unwrap_or(Errno::EINVAL as i32),
                            );
                            Err(io::Error::new(
                                err.kind(),
                                format!(
                                    "the firmware cannot map Linux's memory ({len:#x} bytes): {err}"
                                ),
                            ))
                        }
                    };
                }
                kind::KICK => self.signal_calls(),
                k => log::warn!("ignoring firmware message of kind {k} while waiting for MEM_ACK"),
            }
        }
    }

    fn vring_fd(&mut self, req: Request, fd: Option<File>) -> VuResult<()> {
        self.apply(req.clone())?;
        let (slot, index) = match req {
            Request::SetVringKick { index, .. } => (&mut self.kick, index),
            Request::SetVringCall { index, .. } => (&mut self.call, index),
            _ => return Ok(()), // SET_VRING_ERR: the fd is dropped
        };
        slot[usize::from(index)] = fd; // index < 2: the translator accepted it
        Ok(())
    }
}

impl VhostUserBackendReqHandlerMut for Device {
    fn set_owner(&mut self) -> VuResult<()> {
        log::info!("new Linux connection");
        self.apply(Request::SetOwner).map(drop)
    }

    fn reset_owner(&mut self) -> VuResult<()> {
        self.refuse("RESET_OWNER")
    }

    fn reset_device(&mut self) -> VuResult<()> {
        self.refuse("RESET_DEVICE")
    }

    fn get_features(&mut self) -> VuResult<u64> {
        self.reply(Request::GetFeatures)
    }

    fn set_features(&mut self, features: u64) -> VuResult<()> {
        self.apply(Request::SetFeatures { features }).map(drop)
    }

    fn set_mem_table(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
        _postcopy_listening: Option<bool>,
    ) -> VuResult<Option<Vec<VhostUserMemoryRegionBase>>> {
        let regions = ctx
            .iter()
            .map(|r| Region {
                guest_phys_addr: r.guest_phys_addr,
                memory_size: r.memory_size,
                user_addr: r.user_addr,
                mmap_offset: r.mmap_offset,
            })
            .collect();
        if let Action::MapMemory { len } = self.apply(Request::SetMemTable { regions })? {
            let file = files.first().ok_or(VuError::IncorrectFds)?;
            self.map_memory(file, len)
                .map_err(VuError::ReqHandlerError)?;
        }
        Ok(None)
    }

    fn set_vring_num(&mut self, index: u32, num: u32) -> VuResult<()> {
        self.apply(Request::SetVringNum { index, num }).map(drop)
    }

    fn set_vring_addr(
        &mut self,
        index: u32,
        flags: VhostUserVringAddrFlags,
        descriptor: u64,
        used: u64,
        available: u64,
        log: u64,
    ) -> VuResult<()> {
        self.apply(Request::SetVringAddr {
            index,
            flags: flags.bits(),
            descriptor,
            used,
            available,
            log,
        })
        .map(drop)
    }

    fn set_vring_base(&mut self, index: u32, base: u32) -> VuResult<()> {
        self.apply(Request::SetVringBase { index, base }).map(drop)
    }

    fn get_vring_base(&mut self, _index: u32) -> VuResult<VhostUserVringState> {
        self.refuse("GET_VRING_BASE")
    }

    fn set_vring_kick(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        let req = Request::SetVringKick {
            index,
            fd: fd.is_some(),
        };
        self.vring_fd(req, fd)
    }

    fn set_vring_call(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        let req = Request::SetVringCall {
            index,
            fd: fd.is_some(),
        };
        self.vring_fd(req, fd)
    }

    fn set_vring_err(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        let req = Request::SetVringErr {
            index,
            fd: fd.is_some(),
        };
        self.vring_fd(req, fd)
    }

    fn get_protocol_features(&mut self) -> VuResult<VhostUserProtocolFeatures> {
        let v = self.reply(Request::GetProtocolFeatures)?;
        Ok(VhostUserProtocolFeatures::from_bits_truncate(v))
    }

    fn set_protocol_features(&mut self, features: u64) -> VuResult<()> {
        self.apply(Request::SetProtocolFeatures { features })
            .map(drop)
    }

    fn get_queue_num(&mut self) -> VuResult<u64> {
        self.refuse("GET_QUEUE_NUM")
    }

    fn set_vring_enable(&mut self, index: u32, enable: bool) -> VuResult<()> {
        self.apply(Request::SetVringEnable { index, enable })
            .map(drop)
    }

    fn get_config(&mut self, _: u32, _: u32, _: VhostUserConfigFlags) -> VuResult<Vec<u8>> {
        self.refuse("GET_CONFIG")
    }

    fn set_config(&mut self, _: u32, _: &[u8], _: VhostUserConfigFlags) -> VuResult<()> {
        self.refuse("SET_CONFIG")
    }

    fn set_backend_req_fd(&mut self, backend: Backend) {
        if self.apply(Request::SetBackendReqFd).is_ok() {
            self.backend_req = Some(backend);
        }
    }

    fn set_gpu_socket(&mut self, _: GpuBackend) -> VuResult<()> {
        self.refuse("GPU_SET_SOCKET")
    }

    fn get_shared_object(&mut self, _: VhostUserSharedMsg) -> VuResult<File> {
        self.refuse("GET_SHARED_OBJECT")
    }

    fn get_inflight_fd(&mut self, _: &VhostUserInflight) -> VuResult<(VhostUserInflight, File)> {
        self.refuse("GET_INFLIGHT_FD")
    }

    fn set_inflight_fd(&mut self, _: &VhostUserInflight, _: File) -> VuResult<()> {
        self.refuse("SET_INFLIGHT_FD")
    }

    fn get_max_mem_slots(&mut self) -> VuResult<u64> {
        self.refuse("GET_MAX_MEM_SLOTS")
    }

    fn add_mem_region(
        &mut self,
        _: &VhostUserSingleMemoryRegion,
        _: File,
        _: Option<bool>,
    ) -> VuResult<Option<VhostUserMemoryRegionBase>> {
        self.refuse("ADD_MEM_REG")
    }

    fn remove_mem_region(&mut self, _: &VhostUserSingleMemoryRegion) -> VuResult<()> {
        self.refuse("REM_MEM_REG")
    }

    fn set_device_state_fd(
        &mut self,
        _: VhostTransferStateDirection,
        _: VhostTransferStatePhase,
        _: File,
    ) -> VuResult<Option<File>> {
        self.refuse("SET_DEVICE_STATE_FD")
    }

    fn check_device_state(&mut self) -> VuResult<()> {
        self.refuse("CHECK_DEVICE_STATE")
    }

    fn get_shmem_config(&mut self) -> VuResult<VhostUserShMemConfig> {
        self.refuse("GET_SHMEM_CONFIG")
    }

    fn set_log_base(&mut self, _: &VhostUserLog, _: File) -> VuResult<()> {
        self.refuse("SET_LOG_BASE")
    }
}
