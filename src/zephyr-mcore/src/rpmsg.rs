//! RPMsg over OpenAMP in the remote role: Linux (remoteproc + virtio_rpmsg_bus) is the host.
//!
//! Bring-up follows Zephyr's `samples/subsys/ipc/openamp_rsc_table` step by step
//! ([`Rpmsg::init`]); endpoints announce themselves through the RPMsg name service so that
//! Linux creates a channel and probes the driver whose id table matches the name
//! (`rpmsg_client_sample` for `rpmsg-client-sample`, `rpmsg_tty` for `rpmsg-tty`,
//! `rpmsg_char` for anything with `rpmsg_ctrl`).
//!
//! # Sizes
//! Buffers are 512 bytes (OpenAMP `RPMSG_BUFFER_SIZE`, Linux `MAX_RPMSG_BUF_SIZE`); a payload
//! is at most 512 − 16 = 496 bytes ([`rpmsg_proto::MAX_PAYLOAD`]). Each vring holds
//! `CONFIG_OPENAMP_RSC_TABLE_NUM_RPMSG_BUFF` buffers.
//!
//! # Threads
//! Received messages are handled in the thread that calls [`Rpmsg::poll`] (the thread that
//! processes kicks). An endpoint either runs a callback there ([`Endpoint::bind_with_callback`])
//! or holds the buffer and queues it for another thread ([`Endpoint::recv`], zero copy).

use core::cell::{RefCell, UnsafeCell};
use core::ffi::{c_char, c_int, c_void};
use core::mem::MaybeUninit;
use core::ops::Deref;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, Ordering};

use critical_section::Mutex;
use heapless::Deque;
use zephyr::raw::{k_sem, k_sem_give, k_sem_init, k_sem_take, k_sleep, k_uptime_ticks};
use zephyr::time::{Duration, Forever, NoWait, Timeout};

use crate::ipm::{Ipm, IpmData, IpmHandler};
use crate::sys;
use crate::{Error, Result};

pub use rpmsg_proto::{MAX_PAYLOAD, RPMSG_ADDR_ANY, RPMSG_BUFFER_SIZE, RPMSG_NAME_SIZE};

/// A semaphore initialised at run time, for statics that must be `const`-constructible.
struct Sem(UnsafeCell<MaybeUninit<k_sem>>);

// SAFETY: k_sem is a kernel object designed for concurrent use from threads and ISRs; it is
// initialised once (by the owner's state machine) before any take/give.
unsafe impl Sync for Sem {}

impl Sem {
    const fn new() -> Self {
        Self(UnsafeCell::new(MaybeUninit::zeroed()))
    }
    /// # Safety: call once, before `give`/`take`, with no concurrent user.
    unsafe fn init(&self, limit: u32) {
        // SAFETY: per the contract, no one else uses the object yet.
        unsafe { k_sem_init(self.raw(), 0, limit) };
    }
    fn raw(&self) -> *mut k_sem {
        self.0.get().cast()
    }
    fn give(&self) {
        // SAFETY: initialised before the owner publishes itself (see callers).
        unsafe { k_sem_give(self.raw()) }
    }
    fn take(&self, t: Timeout) -> Result<()> {
        // SAFETY: as for give.
        let rc = unsafe { k_sem_take(self.raw(), t.0) };
        match rc {
            0 => Ok(()),
            rc if rc == -(zephyr::raw::EBUSY as i32) => Err(Error::WouldBlock),
            _ => Err(Error::TimedOut),
        }
    }
}

const UNINIT: u8 = 0;
const BUSY: u8 = 1;
const READY: u8 = 2;

/// The RPMsg device: one virtio rpmsg vdev on the devicetree's shared memory, resource table
/// and IPC mailbox. There is exactly one per image; get it with [`Rpmsg::init`].
pub struct Rpmsg {
    state: AtomicU8,
    rvdev: UnsafeCell<MaybeUninit<sys::rpmsg_virtio_device>>,
    shm_io: UnsafeCell<MaybeUninit<sys::metal_io_region>>,
    rsc_io: UnsafeCell<MaybeUninit<sys::metal_io_region>>,
    shm_physmap: UnsafeCell<sys::metal_phys_addr_t>,
    rsc_physmap: UnsafeCell<sys::metal_phys_addr_t>,
    vdev: AtomicPtr<sys::virtio_device>,
    kick: Sem,
    kicks: AtomicU32,
    ipm: UnsafeCell<Option<Ipm>>,
    ns_bind: UnsafeCell<Option<fn(name: &str, addr: u32)>>,
}

// SAFETY: the UnsafeCell fields are written only by `init` while `state` is BUSY (one thread,
// enforced by the compare-exchange) and read only after `state` is READY; OpenAMP serialises
// its own access to the rvdev with its internal mutex.
unsafe impl Sync for Rpmsg {}

static RPMSG: Rpmsg = Rpmsg {
    state: AtomicU8::new(UNINIT),
    rvdev: UnsafeCell::new(MaybeUninit::zeroed()),
    shm_io: UnsafeCell::new(MaybeUninit::zeroed()),
    rsc_io: UnsafeCell::new(MaybeUninit::zeroed()),
    shm_physmap: UnsafeCell::new(0),
    rsc_physmap: UnsafeCell::new(0),
    vdev: AtomicPtr::new(ptr::null_mut()),
    kick: Sem::new(),
    kicks: AtomicU32::new(0),
    ipm: UnsafeCell::new(None),
    ns_bind: UnsafeCell::new(None),
};

/// Virtual address of device address `da` in the shared memory (`phys`..`phys + size` mapped
/// at `virt`), or `None` outside it. Identity on i.MX; offsets on native_sim.
fn shm_virt(da: usize, phys: usize, virt: usize, size: usize) -> Option<usize> {
    let off = da.checked_sub(phys)?;
    (off < size).then(|| virt + off)
}

/// Calls `attempt` until it returns anything but [`Error::WouldBlock`], sleeping one tick
/// between tries (as OpenAMP's own blocking send polls every 1 ms); [`Error::TimedOut`] once
/// `timeout` has passed.
fn poll_until<T>(timeout: Duration, mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    // SAFETY: k_uptime_ticks has no preconditions.
    let deadline = unsafe { k_uptime_ticks() } + timeout.ticks() as i64;
    loop {
        match attempt() {
            Err(Error::WouldBlock) => {
                // SAFETY: as above.
                if unsafe { k_uptime_ticks() } >= deadline {
                    return Err(Error::TimedOut);
                }
                // SAFETY: sleeping one tick has no preconditions.
                unsafe { k_sleep(Timeout::from(Duration::from_ticks(1)).0) };
            }
            r => return r,
        }
    }
}

/// IPM receive handler: a kick from the host. Counts it and wakes [`Rpmsg::poll`].
struct KickHandler;

impl IpmHandler for KickHandler {
    fn on_receive(&self, _id: u32, _data: IpmData<'_>) {
        RPMSG.kicks.fetch_add(1, Ordering::Relaxed);
        RPMSG.kick.give();
    }
}

static KICK_HANDLER: KickHandler = KickHandler;

/// OpenAMP `rpvdev_notify_func`: kick the host for vring `id`.
unsafe extern "C" fn notify_host(_priv: *mut c_void, id: u32) -> c_int {
    // SAFETY: READY is reached only after `ipm` was set; notify is only called after that.
    let Some(ipm) = (unsafe { *RPMSG.ipm.get() }) else {
        return -1;
    };
    // Linux imx_rproc and Zephyr's samples carry the vring id in the MU data word when the
    // mailbox has data; signal-only mailboxes get the channel id alone.
    let word = id.to_le_bytes();
    let data: &[u8] = if ipm.max_data_size() >= 4 { &word } else { &[] };
    match ipm.send(false, id.min(ipm.max_id()), data) {
        Ok(()) => 0,
        Err(e) => {
            log::warn!("rpmsg: kick for vring {id} failed: {e}");
            -1
        }
    }
}

/// OpenAMP `rpmsg_ns_bind_cb`: the host announced a service we have no endpoint for.
unsafe extern "C" fn on_ns_bind(_rdev: *mut sys::rpmsg_device, name: *const c_char, dest: u32) {
    // SAFETY: OpenAMP passes the NUL-terminated name of the received announcement.
    let name = unsafe { core::ffi::CStr::from_ptr(name) }
        .to_str()
        .unwrap_or("?");
    // SAFETY: ns_bind is written before READY and only read afterwards.
    match unsafe { *RPMSG.ns_bind.get() } {
        Some(f) => f(name, dest),
        None => log::info!("rpmsg: host announced '{name}' at {dest:#x}; no endpoint binds it"),
    }
}

impl Rpmsg {
    /// Brings up the RPMsg vdev and waits until Linux has started it.
    ///
    /// Steps (as Zephyr's `openamp_rsc_table` sample, `platform_init()` and
    /// `platform_create_rpmsg_vdev()`):
    /// 1. `metal_init()`; a libmetal I/O region over the `zephyr,ipc_shm` memory with
    ///    Zephyr's address translation (where `CONFIG_OPENAMP_VENDOR_ADDR_TRANSLATION` is set);
    /// 2. `rsc_table_get()`: the `.resource_table`, copied to `zephyr,ipc_rsc_table` first with
    ///    `CONFIG_OPENAMP_COPY_RSC_TABLE` (i.MX 95); cache maintenance is OpenAMP's with
    ///    `CONFIG_OPENAMP_WITH_DCACHE`;
    /// 3. the `zephyr,ipc` IPM device: kick callback, enabled;
    /// 4. `rproc_virtio_create_vdev()` (device role), then **blocks** in
    ///    `rproc_virtio_wait_remote_ready()` until the host sets `DRIVER_OK` in the vdev status;
    /// 5. both vrings from the resource table, `rpmsg_init_vdev()`.
    ///
    /// `ns_bind`, when given, is called (in the [`Rpmsg::poll`] thread) for each service the
    /// host announces.
    ///
    /// # Errors
    /// [`Error::AlreadyInitialized`] on a second call; [`Error::DeviceNotReady`] when the IPM
    /// device is missing; [`Error::Init`] or the mapped OpenAMP code when a step fails.
    pub fn init_with(ns_bind: Option<fn(name: &str, addr: u32)>) -> Result<&'static Rpmsg> {
        let this = &RPMSG;
        this.state
            .compare_exchange(UNINIT, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Error::AlreadyInitialized)?;
        // SAFETY: state BUSY gives this thread exclusive access to the cells (see Sync impl).
        let r = unsafe { this.bring_up(ns_bind) };
        this.state
            .store(if r.is_ok() { READY } else { UNINIT }, Ordering::Release);
        r.map(|()| this)
    }

    /// [`Rpmsg::init_with`] without a name-service callback.
    ///
    /// # Errors
    /// As [`Rpmsg::init_with`].
    pub fn init() -> Result<&'static Rpmsg> {
        Self::init_with(None)
    }

    /// # Safety
    /// Caller holds the BUSY state (exclusive access to all cells).
    unsafe fn bring_up(&self, ns_bind: Option<fn(&str, u32)>) -> Result<()> {
        // SAFETY (whole block): exclusive access per the contract; every pointer passed to C
        // points into this 'static object; the C calls are OpenAMP/libmetal/Zephyr functions
        // used exactly as in Zephyr's openamp_rsc_table sample.
        unsafe {
            *self.ns_bind.get() = ns_bind;
            self.kick.init(u32::MAX);

            let params = sys::metal_init_params {
                log_handler: Some(sys::metal_default_log_handler),
                log_level: sys::metal_log_level_METAL_LOG_INFO,
            };
            let rc = sys::metal_init(&params);
            if rc != 0 {
                log::error!("rpmsg: metal_init failed: {rc}");
                return Err(Error::Init);
            }

            let shm_addr = sys::mcore_rpmsg_shm_addr();
            let shm_size = sys::mcore_rpmsg_shm_size();
            let shm_phys = sys::mcore_rpmsg_shm_phys();
            *self.shm_physmap.get() = shm_phys as sys::metal_phys_addr_t;
            sys::metal_io_init(
                self.shm_io.get().cast(),
                shm_addr as *mut c_void,
                self.shm_physmap.get(),
                shm_size,
                u32::MAX,
                0,
                sys::addr_translation_get_ops(*self.shm_physmap.get()),
            );

            let mut rsc: *mut c_void = ptr::null_mut();
            let mut rsc_size: c_int = 0;
            sys::rsc_table_get(&mut rsc, &mut rsc_size);
            *self.rsc_physmap.get() = rsc as sys::metal_phys_addr_t;
            sys::metal_io_init(
                self.rsc_io.get().cast(),
                rsc,
                self.rsc_physmap.get(),
                rsc_size as usize,
                u32::MAX,
                0,
                ptr::null(),
            );

            let ipm = Ipm::chosen()?;
            *self.ipm.get() = Some(ipm);
            ipm.register_handler(&KICK_HANDLER);
            ipm.set_enabled(true)?;

            let vdev = sys::rproc_virtio_create_vdev(
                sys::VIRTIO_DEV_DEVICE,
                sys::VDEV_ID,
                sys::rsc_table_to_vdev(rsc).cast(),
                self.rsc_io.get().cast(),
                ptr::null_mut(),
                Some(notify_host),
                None,
            );
            if vdev.is_null() {
                log::error!("rpmsg: rproc_virtio_create_vdev failed (resource table at {rsc:p})");
                return Err(Error::Init);
            }
            log::info!("rpmsg: waiting for the host (remoteproc) to start the vdev");
            sys::rproc_virtio_wait_remote_ready(vdev);

            for (i, vr) in [
                sys::rsc_table_get_vring0(rsc),
                sys::rsc_table_get_vring1(rsc),
            ]
            .into_iter()
            .enumerate()
            {
                // Packed C struct: copy the fields out.
                let (da, notifyid, num, align) = ((*vr).da, (*vr).notifyid, (*vr).num, (*vr).align);
                // The host wrote a device address; the vring must lie in the shared memory.
                let Some(va) = shm_virt(da as usize, shm_phys, shm_addr, shm_size) else {
                    log::error!(
                        "rpmsg: vring {i} at device address {da:#x} is outside the shared memory"
                    );
                    sys::rproc_virtio_remove_vdev(vdev);
                    return Err(Error::Init);
                };
                let rc = sys::rproc_virtio_init_vring(
                    vdev,
                    i as u32,
                    notifyid,
                    va as *mut c_void,
                    self.rsc_io.get().cast(),
                    num,
                    align,
                );
                if rc != 0 {
                    log::error!("rpmsg: vring {i} init failed: {rc}");
                    sys::rproc_virtio_remove_vdev(vdev);
                    return Err(Error::Init);
                }
            }
            let rc = sys::rpmsg_init_vdev(
                self.rvdev.get().cast(),
                vdev,
                Some(on_ns_bind),
                self.shm_io.get().cast(),
                ptr::null_mut(),
            );
            if let Err(e) = Error::check_rpmsg(rc) {
                log::error!("rpmsg: rpmsg_init_vdev failed: {rc}");
                sys::rproc_virtio_remove_vdev(vdev);
                return Err(e);
            }
            self.vdev.store(vdev, Ordering::Release);
        }
        log::info!("rpmsg: vdev up");
        Ok(())
    }

    /// The OpenAMP `struct rpmsg_device` (inside the rpmsg virtio device).
    fn rdev(&self) -> *mut sys::rpmsg_device {
        // SAFETY: only called on &'static Rpmsg obtained from init (READY); taking a field
        // address does not read it.
        unsafe { ptr::addr_of_mut!((*self.rvdev.get().cast::<sys::rpmsg_virtio_device>()).rdev) }
    }

    /// Waits up to `timeout` for a kick from the host and processes both vrings: received
    /// messages go to their endpoints' callbacks or queues in this thread.
    ///
    /// Returns `true` when a kick was processed, `false` on timeout.
    ///
    /// # Errors
    /// Mapped OpenAMP code when `rproc_virtio_notified()` fails.
    pub fn poll(&self, timeout: impl Into<Timeout>) -> Result<bool> {
        match self.kick.take(timeout.into()) {
            Ok(()) => {}
            Err(Error::TimedOut | Error::WouldBlock) => return Ok(false),
            Err(e) => return Err(e),
        }
        let vdev = self.vdev.load(Ordering::Acquire);
        // SAFETY: vdev was created by init (READY) and lives forever.
        let rc = unsafe { sys::rproc_virtio_notified(vdev, sys::RSC_NOTIFY_ID_ANY) };
        Error::check_errno(rc).map(|_| true)
    }

    /// Processes kicks forever.
    pub fn run(&self) -> ! {
        loop {
            let _ = self.poll(Forever);
        }
    }

    /// Number of kicks received from the host since boot.
    pub fn kicks(&self) -> u32 {
        self.kicks.load(Ordering::Relaxed)
    }
}

/// A received message held in its vring buffer (zero copy). Dereferences to the payload;
/// dropping it returns the buffer to the host (`rpmsg_release_rx_buffer()`).
pub struct RxBuffer<'a> {
    ept: *mut sys::rpmsg_endpoint,
    data: *mut c_void,
    len: usize,
    src: u32,
    _ep: core::marker::PhantomData<&'a ()>,
}

impl RxBuffer<'_> {
    /// Address of the sending endpoint (reply here with [`Endpoint::send_to`]).
    pub fn src(&self) -> u32 {
        self.src
    }
}

impl Deref for RxBuffer<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: OpenAMP handed us `len` bytes at `data` and we hold the buffer
        // (rpmsg_hold_rx_buffer) until drop.
        unsafe { core::slice::from_raw_parts(self.data as *const u8, self.len) }
    }
}

impl Drop for RxBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: the buffer was held on this endpoint and is released exactly once.
        unsafe { sys::rpmsg_release_rx_buffer(self.ept, self.data) }
    }
}

/// A transmit buffer taken from the vring (zero copy): fill it, then [`TxBuffer::send`].
/// Dropping it unsent gives it back (`rpmsg_release_tx_buffer()`).
pub struct TxBuffer<'a> {
    ept: *mut sys::rpmsg_endpoint,
    data: *mut c_void,
    cap: usize,
    dst: u32,
    _ep: core::marker::PhantomData<&'a ()>,
}

impl TxBuffer<'_> {
    /// The whole payload area; its length is the largest payload (496 bytes with 512-byte
    /// buffers).
    pub fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: OpenAMP gave us `cap` writable bytes that no one else touches until
        // send or release.
        unsafe { core::slice::from_raw_parts_mut(self.data as *mut u8, self.cap) }
    }

    /// Sends the first `len` bytes to the destination chosen when the buffer was taken.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] when `len` exceeds the buffer (the buffer is kept and
    /// returned to the pool); the mapped OpenAMP code otherwise.
    pub fn send(self, len: usize) -> Result<()> {
        rpmsg_proto::check_payload(len, self.cap)?;
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: the buffer came from rpmsg_get_tx_payload_buffer on this endpoint; after
        // this call OpenAMP owns it, so Drop must not run (ManuallyDrop).
        let rc = unsafe {
            sys::rpmsg_send_offchannel_nocopy(
                this.ept,
                (*this.ept).addr,
                this.dst,
                this.data,
                len as c_int,
            )
        };
        if rc < 0 {
            // SAFETY: on failure the buffer is still ours: give it back.
            unsafe { sys::rpmsg_release_tx_buffer(this.ept, this.data) };
        }
        Error::check_rpmsg(rc).map(drop)
    }
}

impl Drop for TxBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: an unsent buffer from this endpoint, released exactly once.
        unsafe { sys::rpmsg_release_tx_buffer(self.ept, self.data) };
    }
}

/// A message handed to an endpoint callback. Valid during the callback only.
pub struct Received<'a> {
    /// Payload bytes (at most 496).
    pub data: &'a [u8],
    /// Address of the sending endpoint.
    pub src: u32,
}

/// Per-endpoint counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages received.
    pub rx: u32,
    /// Messages sent.
    pub tx: u32,
    /// Messages dropped because the receive queue was full.
    pub rx_dropped: u32,
}

struct Pending {
    data: *mut c_void,
    len: usize,
    src: u32,
}

// SAFETY: a Pending is a held OpenAMP rx buffer; moving the pointer between threads is fine,
// ownership is tracked by the queue.
unsafe impl Send for Pending {}

const EP_UNBOUND: u8 = 0;
const EP_BINDING: u8 = 1;
const EP_BOUND: u8 = 2;

/// An RPMsg endpoint with a receive queue of `N` held buffers.
///
/// Lives in a `static` (OpenAMP keeps a pointer to it):
///
/// ```ignore
/// static TTY: Endpoint<16> = Endpoint::new();
/// TTY.bind(rpmsg, "rpmsg-tty")?;
/// ```
///
/// Queued messages hold their vring buffer until dropped, so the host can have at most
/// `CONFIG_OPENAMP_RSC_TABLE_NUM_RPMSG_BUFF` messages in flight: with `N` at least that
/// number the queue never overflows. An overflow (smaller `N`) drops the message and counts
/// it in [`Stats::rx_dropped`].
pub struct Endpoint<const N: usize = 16> {
    state: AtomicU8,
    ept: UnsafeCell<MaybeUninit<sys::rpmsg_endpoint>>,
    queue: Mutex<RefCell<Deque<Pending, N>>>,
    /// Bytes of the front message already consumed by `embedded_io::Read`.
    read_off: AtomicU32,
    rx_sem: Sem,
    callback: UnsafeCell<Option<fn(&Endpoint<N>, Received<'_>)>>,
    rx: AtomicU32,
    tx: AtomicU32,
    dropped: AtomicU32,
}

// SAFETY: `ept` and `callback` are written only during bind (state BINDING, one thread via
// compare-exchange) and afterwards mutated only by OpenAMP under its own lock; the queue is
// behind a critical-section mutex; counters are atomics.
unsafe impl<const N: usize> Sync for Endpoint<N> {}

impl<const N: usize> Default for Endpoint<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Endpoint<N> {
    /// An unbound endpoint, for a `static`.
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(EP_UNBOUND),
            ept: UnsafeCell::new(MaybeUninit::zeroed()),
            queue: Mutex::new(RefCell::new(Deque::new())),
            read_off: AtomicU32::new(0),
            rx_sem: Sem::new(),
            callback: UnsafeCell::new(None),
            rx: AtomicU32::new(0),
            tx: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
        }
    }

    fn raw(&self) -> *mut sys::rpmsg_endpoint {
        self.ept.get().cast()
    }

    /// Creates the endpoint on `rpmsg` with a local address chosen by OpenAMP and announces
    /// `name` through the name service (`rpmsg_create_ept()` with `RPMSG_ADDR_ANY`). Messages
    /// are queued for [`Endpoint::recv`].
    ///
    /// `name` is at most 31 bytes (Linux `RPMSG_NAME_SIZE` is 32 with the NUL).
    ///
    /// # Errors
    /// [`Error::AlreadyInitialized`] when bound already; [`Error::InvalidParam`] for an empty
    /// or too long name; the mapped OpenAMP code otherwise.
    pub fn bind(&'static self, rpmsg: &'static Rpmsg, name: &str) -> Result<()> {
        self.bind_inner(rpmsg, name, None)
    }

    /// As [`Endpoint::bind`], but every message is passed to `callback` in the
    /// [`Rpmsg::poll`] thread and its buffer released when the callback returns. The callback
    /// may send (for example reply with [`Endpoint::send_to`]).
    ///
    /// # Errors
    /// As [`Endpoint::bind`].
    pub fn bind_with_callback(
        &'static self,
        rpmsg: &'static Rpmsg,
        name: &str,
        callback: fn(&Endpoint<N>, Received<'_>),
    ) -> Result<()> {
        self.bind_inner(rpmsg, name, Some(callback))
    }

    fn bind_inner(
        &'static self,
        rpmsg: &'static Rpmsg,
        name: &str,
        callback: Option<fn(&Endpoint<N>, Received<'_>)>,
    ) -> Result<()> {
        if name.is_empty() || name.len() >= RPMSG_NAME_SIZE {
            return Err(Error::InvalidParam);
        }
        self.state
            .compare_exchange(EP_UNBOUND, EP_BINDING, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Error::AlreadyInitialized)?;
        let mut cname = [0 as c_char; RPMSG_NAME_SIZE];
        for (d, s) in cname.iter_mut().zip(name.bytes()) {
            *d = s as c_char;
        }
        // SAFETY: BINDING state gives exclusive access to `callback`, `rx_sem` and `ept`;
        // `self` is 'static so OpenAMP may keep the pointers; `priv` points back at `self`,
        // which the trampolines rely on.
        let rc = unsafe {
            *self.callback.get() = callback;
            self.rx_sem.init(u32::MAX);
            (*self.raw()).priv_ = self as *const Self as *mut c_void;
            sys::rpmsg_create_ept(
                self.raw(),
                rpmsg.rdev(),
                cname.as_ptr(),
                RPMSG_ADDR_ANY,
                RPMSG_ADDR_ANY,
                Some(Self::on_message),
                Some(Self::on_unbind),
            )
        };
        match Error::check_rpmsg(rc) {
            Ok(_) => {
                // rpmsg_create_ept() zeroes priv_ only if it resets the struct; set it again.
                // SAFETY: still exclusive (BINDING).
                unsafe { (*self.raw()).priv_ = self as *const Self as *mut c_void };
                self.state.store(EP_BOUND, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                self.state.store(EP_UNBOUND, Ordering::Release);
                Err(e)
            }
        }
    }

    unsafe extern "C" fn on_message(
        ept: *mut sys::rpmsg_endpoint,
        data: *mut c_void,
        len: usize,
        src: u32,
        priv_: *mut c_void,
    ) -> c_int {
        // SAFETY: priv_ is the 'static Endpoint set in bind.
        let this = unsafe { &*(priv_ as *const Self) };
        this.rx.fetch_add(1, Ordering::Relaxed);
        // SAFETY: written before BOUND, read-only afterwards.
        if let Some(cb) = unsafe { *this.callback.get() } {
            // SAFETY: OpenAMP passes `len` valid bytes, valid until we return.
            let data = unsafe { core::slice::from_raw_parts(data as *const u8, len) };
            cb(this, Received { data, src });
            return 0;
        }
        let queued = critical_section::with(|cs| {
            this.queue
                .borrow_ref_mut(cs)
                .push_back(Pending { data, len, src })
                .is_ok()
        });
        if queued {
            // SAFETY: ept/data are the endpoint and buffer of this callback.
            unsafe { sys::rpmsg_hold_rx_buffer(ept, data) };
            this.rx_sem.give();
        } else {
            this.dropped.fetch_add(1, Ordering::Relaxed);
            log::warn!("rpmsg: receive queue full, message from {src:#x} dropped");
        }
        0
    }

    unsafe extern "C" fn on_unbind(ept: *mut sys::rpmsg_endpoint) {
        // SAFETY: priv_ is the 'static Endpoint set in bind.
        let this = unsafe { &*((*ept).priv_ as *const Self) };
        log::info!(
            "rpmsg: host destroyed the channel of endpoint {:#x}",
            this.addr()
        );
        // SAFETY: OpenAMP calls this under its lock; resetting dest makes sends fail with
        // NoDestination until the host talks to us again.
        unsafe { (*ept).dest_addr = RPMSG_ADDR_ANY };
    }

    fn bound(&self) -> Result<*mut sys::rpmsg_endpoint> {
        if self.state.load(Ordering::Acquire) == EP_BOUND {
            Ok(self.raw())
        } else {
            Err(Error::NotBound)
        }
    }

    /// Local address OpenAMP gave this endpoint (`RPMSG_ADDR_ANY` when unbound).
    pub fn addr(&self) -> u32 {
        // SAFETY: a plain read of a u32 OpenAMP writes once at bind.
        self.bound()
            .map(|e| unsafe { (*e).addr })
            .unwrap_or(RPMSG_ADDR_ANY)
    }

    /// Address of the host endpoint this one talks to by default: learnt from the first
    /// message the host sends; `RPMSG_ADDR_ANY` before that.
    pub fn dest(&self) -> u32 {
        // SAFETY: as addr; a racy read of a u32 is at worst stale.
        self.bound()
            .map(|e| unsafe { ptr::read_volatile(&(*e).dest_addr) })
            .unwrap_or(RPMSG_ADDR_ANY)
    }

    /// Largest payload in bytes a send accepts (`rpmsg_get_tx_buffer_size()`): 496 with
    /// 512-byte buffers.
    ///
    /// # Errors
    /// [`Error::NotBound`] before bind.
    pub fn max_payload(&self) -> Result<usize> {
        let ept = self.bound()?;
        // SAFETY: bound endpoint.
        Error::check_rpmsg(unsafe { sys::rpmsg_get_tx_buffer_size(ept) }).map(|n| n as usize)
    }

    /// Counters since bind.
    pub fn stats(&self) -> Stats {
        Stats {
            rx: self.rx.load(Ordering::Relaxed),
            tx: self.tx.load(Ordering::Relaxed),
            rx_dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    fn send_raw(&self, data: &[u8], dst: u32, wait: bool) -> Result<()> {
        let ept = self.bound()?;
        rpmsg_proto::check_payload(data.len(), self.max_payload()?)?;
        if dst == RPMSG_ADDR_ANY {
            return Err(Error::NoDestination);
        }
        // SAFETY: bound endpoint; `data` is valid for its length, which fits c_int (<= 496).
        let rc = unsafe {
            sys::rpmsg_send_offchannel_raw(
                ept,
                (*ept).addr,
                dst,
                data.as_ptr().cast(),
                data.len() as c_int,
                wait as c_int,
            )
        };
        Error::check_rpmsg(rc)?;
        self.tx.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Sends `data` to endpoint `dst` without waiting (`rpmsg_trysendto()`).
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] for more than [`Endpoint::max_payload`] bytes (checked first:
    /// no buffer is taken); [`Error::WouldBlock`] when no transmit buffer is free;
    /// [`Error::NoDestination`] for `RPMSG_ADDR_ANY`; [`Error::NotBound`] before bind.
    pub fn try_send_to(&self, data: &[u8], dst: u32) -> Result<()> {
        self.send_raw(data, dst, false)
    }

    /// Sends `data` to [`Endpoint::dest`] without waiting.
    ///
    /// # Errors
    /// As [`Endpoint::try_send_to`].
    pub fn try_send(&self, data: &[u8]) -> Result<()> {
        self.send_raw(data, self.dest(), false)
    }

    /// Sends `data` to `dst`, waiting up to `timeout` for a free transmit buffer (polled every
    /// tick, as OpenAMP's own blocking send polls every 1 ms).
    ///
    /// # Errors
    /// [`Error::TimedOut`] when no buffer came in time; otherwise as
    /// [`Endpoint::try_send_to`].
    pub fn send_to(&self, data: &[u8], dst: u32, timeout: Duration) -> Result<()> {
        poll_until(timeout, || self.send_raw(data, dst, false))
    }

    /// Sends `data` to [`Endpoint::dest`], waiting up to `timeout` for a buffer.
    ///
    /// # Errors
    /// As [`Endpoint::send_to`].
    pub fn send(&self, data: &[u8], timeout: Duration) -> Result<()> {
        self.send_to(data, self.dest(), timeout)
    }

    /// Takes a transmit buffer for a zero-copy send to `dst` (`rpmsg_get_tx_payload_buffer()`),
    /// waiting up to `timeout`.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when none was free in time; [`Error::NoDestination`] for
    /// `RPMSG_ADDR_ANY`; [`Error::NotBound`] before bind.
    pub fn tx_buffer(&self, dst: u32, timeout: Duration) -> Result<TxBuffer<'_>> {
        let ept = self.bound()?;
        if dst == RPMSG_ADDR_ANY {
            return Err(Error::NoDestination);
        }
        poll_until(timeout, || {
            let mut cap: u32 = 0;
            // SAFETY: bound endpoint; `cap` is a valid out-parameter.
            let data = unsafe { sys::rpmsg_get_tx_payload_buffer(ept, &mut cap, 0) };
            if data.is_null() {
                return Err(Error::WouldBlock);
            }
            self.tx.fetch_add(1, Ordering::Relaxed);
            Ok(TxBuffer {
                ept,
                data,
                cap: cap as usize,
                dst,
                _ep: core::marker::PhantomData,
            })
        })
    }

    /// Waits up to `timeout` for a queued message and returns it without copying.
    ///
    /// # Errors
    /// [`Error::TimedOut`] (or [`Error::WouldBlock`] with `NoWait`) when none came;
    /// [`Error::NotBound`] before bind or for a callback endpoint.
    pub fn recv(&self, timeout: impl Into<Timeout>) -> Result<RxBuffer<'_>> {
        let ept = self.bound()?;
        // SAFETY: written before BOUND, read-only afterwards.
        if unsafe { (*self.callback.get()).is_some() } {
            return Err(Error::NotBound);
        }
        self.rx_sem.take(timeout.into())?;
        let p = critical_section::with(|cs| self.queue.borrow_ref_mut(cs).pop_front())
            .ok_or(Error::WouldBlock)?;
        Ok(RxBuffer {
            ept,
            data: p.data,
            len: p.len,
            src: p.src,
            _ep: core::marker::PhantomData,
        })
    }

    /// [`Endpoint::recv`] without waiting.
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when the queue is empty; as [`Endpoint::recv`] otherwise.
    pub fn try_recv(&self) -> Result<RxBuffer<'_>> {
        self.recv(NoWait)
    }
}

impl<const N: usize> embedded_io::ErrorType for &Endpoint<N> {
    type Error = Error;
}

/// Byte-stream reads over queued messages, for one reader that does not also call
/// [`Endpoint::recv`]: blocks until a message is queued, copies as much as fits and keeps the
/// rest of that message for the next read.
impl<const N: usize> embedded_io::Read for &Endpoint<N> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let ept = self.bound()?;
        let off = self.read_off.load(Ordering::Relaxed) as usize;
        // A partly read front message has had its semaphore count consumed already.
        if off == 0 {
            self.rx_sem.take(Forever.into())?;
        }
        let (data, len) = critical_section::with(|cs| {
            let q = self.queue.borrow_ref(cs);
            q.front().map(|p| (p.data, p.len)).ok_or(Error::WouldBlock)
        })?;
        let n = buf.len().min(len - off);
        // SAFETY: a held buffer of `len` bytes; `off + n <= len`.
        let src = unsafe { core::slice::from_raw_parts((data as *const u8).add(off), n) };
        buf[..n].copy_from_slice(src);
        if off + n == len {
            self.read_off.store(0, Ordering::Relaxed);
            critical_section::with(|cs| self.queue.borrow_ref_mut(cs).pop_front());
            // SAFETY: the held buffer of this endpoint, released once.
            unsafe { sys::rpmsg_release_rx_buffer(ept, data) };
        } else {
            self.read_off.store((off + n) as u32, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Each write sends one message of up to [`Endpoint::max_payload`] bytes to
/// [`Endpoint::dest`], waiting as long as needed for a buffer.
impl<const N: usize> embedded_io::Write for &Endpoint<N> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        let n = buf.len().min(self.max_payload()?);
        self.send(&buf[..n], Duration::from_ticks(zephyr::time::Tick::MAX / 2))?;
        Ok(n)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
