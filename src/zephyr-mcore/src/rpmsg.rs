//! RPMsg over OpenAMP in the remote role: Linux (remoteproc + virtio_rpmsg_bus) is the host.
//!
//! Endpoints announce themselves through the RPMsg name service so that Linux creates a
//! channel and probes the driver whose id table matches the name (`rpmsg_client_sample` for
//! `rpmsg-client-sample`, `rpmsg_tty` for `rpmsg-tty`, `rpmsg_char` through `rpmsg_ctrl` for
//! anything).
//!
//! # The link follows Linux, whenever it comes and goes
//! [`Rpmsg::init`] returns at once. A thread of this crate (`mcore_rpmsg`, stack and priority
//! from `CONFIG_MCORE_RS_RPMSG_THREAD_STACK_SIZE` / `_PRIORITY`) waits for kicks and looks at
//! the shared memory every `CONFIG_MCORE_RS_RPMSG_POLL_MS`:
//! * **Link up** when the vdev status has `DRIVER_OK`: the vrings Linux placed are read from
//!   the resource table (`da`, `num`, `align`, `notifyid`), checked to lie wholly in the shared
//!   memory, and the vdev, vrings and rpmsg device are created; every bound [`Endpoint`] is
//!   created again at its address, so its name-service announcement goes out again.
//! * **Link down** when a new Linux has reset the vdev (`rpmsg_proto::link::detect_reset`:
//!   status without `DRIVER_OK`, a vring moved, `used->idx` not what the firmware wrote,
//!   `avail->idx` jumped): held rx/tx buffers are forgotten (never released into the new
//!   rings), the vdev is removed without name-service destroy messages, and the link comes up
//!   again as soon as the new Linux sets `DRIVER_OK`. The same check runs before every send and
//!   buffer release, so the firmware never writes into rings a new Linux has just set up.
//!
//! Applications see the link with [`Rpmsg::is_up`], [`Rpmsg::wait_up`] and
//! [`Rpmsg::on_link_change`]; sends while it is down fail with [`Error::LinkDown`] at once.
//! [`Endpoint`] handles stay valid across any number of Linux restarts.
//!
//! # Sizes
//! Buffers are 512 bytes (OpenAMP `RPMSG_BUFFER_SIZE`, Linux `MAX_RPMSG_BUF_SIZE`); a payload
//! is at most 512 − 16 = 496 bytes ([`rpmsg_proto::MAX_PAYLOAD`]).
//!
//! # Threads
//! Endpoint callbacks ([`Endpoint::bind_with_callback`]) run in the `mcore_rpmsg` thread;
//! queued messages ([`Endpoint::recv`]) are taken by any thread. All OpenAMP calls are
//! serialised by one recursive kernel mutex, so a callback may send.

use core::cell::{RefCell, UnsafeCell};
use core::ffi::{c_char, c_int, c_void, CStr};
use core::mem::MaybeUninit;
use core::ops::Deref;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use critical_section::Mutex;
use heapless::Deque;
use rpmsg_proto::link::{detect_reset, ring_offset, RingState, RingView};
use zephyr::raw::{k_sleep, k_uptime_ticks};
use zephyr::sys::sync::{Mutex as KMutex, Semaphore};
use zephyr::time::{Duration, Forever, NoWait, Timeout};

use crate::ipm::{Ipm, IpmData, IpmHandler};
use crate::sys;
use crate::{Error, Result};

pub use rpmsg_proto::{MAX_PAYLOAD, RPMSG_ADDR_ANY, RPMSG_BUFFER_SIZE, RPMSG_NAME_SIZE};

/// Most endpoints one image can bind (`CONFIG_MCORE_RS_RPMSG_MAX_ENDPOINTS`).
pub const MAX_ENDPOINTS: usize = zephyr::kconfig::CONFIG_MCORE_RS_RPMSG_MAX_ENDPOINTS as usize;

/// How often the link thread looks at the shared memory without a kick (ms).
const POLL_MS: u32 = zephyr::kconfig::CONFIG_MCORE_RS_RPMSG_POLL_MS as u32;

/// Calls `attempt` until it returns anything but [`Error::WouldBlock`], sleeping one tick
/// between tries (as OpenAMP's own blocking send polls every 1 ms); [`Error::TimedOut`] once
/// `timeout` has passed. `None` waits for ever.
fn poll_until<T>(timeout: Option<Duration>, mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    // SAFETY: k_uptime_ticks has no preconditions.
    let start = unsafe { k_uptime_ticks() };
    loop {
        match attempt() {
            Err(Error::WouldBlock) => {
                if let Some(t) = timeout {
                    // SAFETY: as above.
                    let elapsed = unsafe { k_uptime_ticks() }.saturating_sub(start);
                    if elapsed >= i64::try_from(t.ticks()).unwrap_or(i64::MAX) {
                        return Err(Error::TimedOut);
                    }
                }
                // SAFETY: sleeping one tick has no preconditions.
                unsafe { k_sleep(Timeout::from(Duration::from_ticks(1)).0) };
            }
            r => return r,
        }
    }
}

/// An endpoint as the link sees it: created again after every link-up, forgotten at every
/// teardown.
trait EndpointHooks: Sync {
    /// Creates the OpenAMP endpoint on `rdev` for link generation `gen`; an OpenAMP code.
    ///
    /// # Safety
    /// The link lock is held and `rdev` is the live rpmsg device.
    unsafe fn create(&self, rdev: *mut sys::rpmsg_device, gen: u32) -> c_int;
    /// Forgets the OpenAMP endpoint and every held buffer (the link went down).
    fn forget(&self);
}

/// State owned by the link lock.
struct Inner {
    rvdev: MaybeUninit<sys::rpmsg_virtio_device>,
    shm_io: MaybeUninit<sys::metal_io_region>,
    rsc_io: MaybeUninit<sys::metal_io_region>,
    shm_physmap: sys::metal_phys_addr_t,
    rsc_physmap: sys::metal_phys_addr_t,
    shm_addr: usize,
    shm_size: usize,
    shm_phys: usize,
    rsc: *mut c_void,
    vdev: *mut sys::virtio_device,
    rings: [RingState; 2],
    endpoints: heapless::Vec<&'static dyn EndpointHooks, MAX_ENDPOINTS>,
    ns_bind: Option<fn(name: &str, addr: u32)>,
    /// The last bring-up failure was logged (log a failure once, not every poll).
    failure_logged: bool,
    /// OpenAMP calls of this link under way (an endpoint callback runs inside
    /// `rproc_virtio_notified()` and may send): reset checks and teardown wait for 0, since
    /// OpenAMP is between its own ring writes and still uses the vdev.
    nested: u32,
}

/// The RPMsg device: one virtio rpmsg vdev on the devicetree's shared memory, resource table
/// and IPC mailbox. There is exactly one per image; get it with [`Rpmsg::init`].
pub struct Rpmsg {
    started: AtomicBool,
    up: AtomicBool,
    /// Incremented at every link-up; buffers and endpoints remember the generation they
    /// belong to.
    generation: AtomicU32,
    lock: KMutex,
    kick: Semaphore,
    kicks: AtomicU32,
    resets: AtomicU32,
    /// `fn(bool)` as usize, 0 for none.
    on_change: AtomicUsize,
    inner: UnsafeCell<Inner>,
    ipm: UnsafeCell<Option<Ipm>>,
}

// SAFETY: `inner` is only touched with `lock` held (or by `init` before the link thread
// exists, under the `started` claim); `ipm` is written once by `init` before the thread that
// reads it is started; everything else is atomics and kernel objects.
unsafe impl Sync for Rpmsg {}

static RPMSG: Rpmsg = Rpmsg {
    started: AtomicBool::new(false),
    up: AtomicBool::new(false),
    generation: AtomicU32::new(0),
    lock: KMutex::new(),
    kick: Semaphore::new(0, 1),
    kicks: AtomicU32::new(0),
    resets: AtomicU32::new(0),
    on_change: AtomicUsize::new(0),
    inner: UnsafeCell::new(Inner {
        rvdev: MaybeUninit::zeroed(),
        shm_io: MaybeUninit::zeroed(),
        rsc_io: MaybeUninit::zeroed(),
        shm_physmap: 0,
        rsc_physmap: 0,
        shm_addr: 0,
        shm_size: 0,
        shm_phys: 0,
        rsc: ptr::null_mut(),
        vdev: ptr::null_mut(),
        rings: [RingState {
            da: 0,
            num: 0,
            avail_taken: 0,
            used_written: 0,
        }; 2],
        endpoints: heapless::Vec::new(),
        ns_bind: None,
        failure_logged: false,
        nested: 0,
    }),
    ipm: UnsafeCell::new(None),
};

/// Holds the link lock (a recursive `k_mutex`) while alive.
struct Guard(&'static KMutex);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// IPM receive handler: a kick from Linux. Counts it and wakes the link thread.
struct KickHandler;

impl IpmHandler for KickHandler {
    fn on_receive(&self, _id: u32, _data: IpmData<'_>) {
        RPMSG.kicks.fetch_add(1, Ordering::Relaxed);
        RPMSG.kick.give();
    }
}

static KICK_HANDLER: KickHandler = KickHandler;

/// OpenAMP `rpvdev_notify_func`: kick Linux for vring `id`.
///
/// Linux listens on one MU register only: imx-mailbox enables the receive interrupt of the
/// index its "rx" channel names (`imx_mu_startup()`), and `imx_rproc_rx_callback()` services
/// every virtqueue whatever the data word. So every kick, for either vring, goes to that
/// register (`CONFIG_MCORE_RS_KICK_CHANNEL`, checked against the board's Linux overlay by
/// `mcore check-elf --board`), with the data word `vqid << 16` that Linux's own
/// `imx_rproc_kick()` writes, where the mailbox carries data.
unsafe extern "C" fn notify_host(_priv: *mut c_void, id: u32) -> c_int {
    // SAFETY: `ipm` is written by init before the link thread starts, and notify runs only on
    // a vdev that thread (or a sender holding the lock) created.
    let Some(ipm) = (unsafe { &*RPMSG.ipm.get() }) else {
        return -1;
    };
    // SAFETY: plain getter over a constant record (src/shim/mcore_linux_shim.c).
    let channel = unsafe { sys::mcore_rpmsg_kick_channel() };
    let word = (id << 16).to_le_bytes();
    let data: &[u8] = if ipm.max_data_size() >= 4 { &word } else { &[] };
    match ipm.send(false, channel, data) {
        Ok(()) => 0,
        // The register still holds a kick Linux has not read: when it reads it, it services
        // every virtqueue, this vring's update included.
        Err(Error::Busy) => 0,
        Err(e) => {
            log::warn!("rpmsg: kick for vring {id} on MU register {channel} failed: {e}");
            -1
        }
    }
}

/// OpenAMP `rpmsg_ns_bind_cb`: Linux announced a service we have no endpoint for.
unsafe extern "C" fn on_ns_bind(_rdev: *mut sys::rpmsg_device, name: *const c_char, dest: u32) {
    // SAFETY: OpenAMP passes the name field of the received name-service message,
    // RPMSG_NAME_SIZE (32) readable bytes that need not end in a NUL.
    let raw = unsafe { core::slice::from_raw_parts(name.cast::<u8>(), RPMSG_NAME_SIZE) };
    let name = CStr::from_bytes_until_nul(raw)
        .ok()
        .and_then(|c| c.to_str().ok())
        .unwrap_or("?");
    // SAFETY: called in the link thread with the lock held (inside rproc_virtio_notified).
    match unsafe { (*RPMSG.inner.get()).ns_bind } {
        Some(f) => f(name, dest),
        None => log::info!("rpmsg: Linux announced '{name}' at {dest:#x}; no endpoint binds it"),
    }
}

/// The link thread (`mcore_rpmsg`).
unsafe extern "C" fn link_thread(_a: *mut c_void, _b: *mut c_void, _c: *mut c_void) {
    RPMSG.run()
}

/// Link state changes, as [`Rpmsg::on_link_change`] reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Linux has started the vdev and the endpoints are announced.
    Up,
    /// No Linux drives the vdev (not yet, or a new Linux reset it).
    Down,
}

impl Rpmsg {
    /// Sets up the RPMsg device and starts the link thread; returns at once, whether or not
    /// Linux is there. The link comes up whenever Linux starts or attaches to the vdev.
    ///
    /// Steps (as Zephyr's `openamp_rsc_table` sample, `platform_init()`): `metal_init()`; a
    /// libmetal I/O region over the `zephyr,ipc_shm` memory with Zephyr's address translation;
    /// `rsc_table_get()` (the `.resource_table`, copied to `zephyr,ipc_rsc_table` once, with
    /// `CONFIG_OPENAMP_COPY_RSC_TABLE`); the `zephyr,ipc` mailbox with the kick handler. The
    /// vdev itself is created by the link thread when Linux sets `DRIVER_OK`.
    ///
    /// `ns_bind`, when given, is called (in the link thread) for each service Linux announces.
    ///
    /// # Errors
    /// [`Error::AlreadyInitialized`] on a second call; [`Error::DeviceNotReady`] when the IPM
    /// device is missing or taken; [`Error::Init`] when `metal_init()` fails or the Rust and C
    /// layouts of OpenAMP's structs disagree.
    pub fn init_with(ns_bind: Option<fn(name: &str, addr: u32)>) -> Result<&'static Rpmsg> {
        let this = &RPMSG;
        this.started
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Error::AlreadyInitialized)?;
        // SAFETY: the `started` claim makes this the only thread touching the cells, and the
        // link thread does not exist yet.
        let r = unsafe { this.set_up(ns_bind) };
        if r.is_err() {
            // Nothing was started: a later init may try again.
            this.started.store(false, Ordering::Release);
        }
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
    /// Exclusive access to the cells (see `init_with`).
    unsafe fn set_up(&self, ns_bind: Option<fn(&str, u32)>) -> Result<()> {
        check_layouts()?;
        // SAFETY: exclusive per the contract.
        let inner = unsafe { &mut *self.inner.get() };
        inner.ns_bind = ns_bind;
        // SAFETY (whole block): the C calls are libmetal/Zephyr functions used as in Zephyr's
        // openamp_rsc_table sample; every pointer passed points into this 'static object.
        unsafe {
            let params = sys::metal_init_params {
                log_handler: Some(sys::metal_default_log_handler),
                log_level: sys::metal_log_level_METAL_LOG_INFO,
            };
            let rc = sys::metal_init(&params);
            if rc != 0 {
                log::error!("rpmsg: metal_init failed: {rc}");
                return Err(Error::Init);
            }
            inner.shm_addr = sys::mcore_rpmsg_shm_addr();
            inner.shm_size = sys::mcore_rpmsg_shm_size();
            inner.shm_phys = sys::mcore_rpmsg_shm_phys();
            inner.shm_physmap = inner.shm_phys as sys::metal_phys_addr_t;
            sys::metal_io_init(
                inner.shm_io.as_mut_ptr(),
                inner.shm_addr as *mut c_void,
                &mut inner.shm_physmap,
                inner.shm_size,
                u32::MAX,
                0,
                sys::addr_translation_get_ops(inner.shm_physmap),
            );
            let mut rsc: *mut c_void = ptr::null_mut();
            let mut rsc_size: c_int = 0;
            sys::rsc_table_get(&mut rsc, &mut rsc_size);
            inner.rsc = rsc;
            inner.rsc_physmap = rsc as sys::metal_phys_addr_t;
            sys::metal_io_init(
                inner.rsc_io.as_mut_ptr(),
                rsc,
                &mut inner.rsc_physmap,
                rsc_size as usize,
                u32::MAX,
                0,
                ptr::null(),
            );
        }
        let mut ipm = Ipm::chosen()?;
        ipm.register_handler(&KICK_HANDLER);
        ipm.set_enabled(true)?;
        // SAFETY: exclusive per the contract; read by notify_host only after the thread starts.
        unsafe { *self.ipm.get() = Some(ipm) };
        // SAFETY: the entry has the k_thread_entry_t signature; the shim starts one thread.
        unsafe { sys::mcore_rpmsg_thread_start(Some(link_thread)) };
        log::info!("rpmsg: waiting for Linux (remoteproc) to start the vdev");
        Ok(())
    }

    /// The RPMsg device, once [`Rpmsg::init`] has run.
    pub fn get() -> Option<&'static Rpmsg> {
        RPMSG.started.load(Ordering::Acquire).then_some(&RPMSG)
    }

    fn lock(&'static self) -> Guard {
        // A K_FOREVER lock of a recursive mutex from a thread cannot fail.
        let _ = self.lock.lock(Forever);
        Guard(&self.lock)
    }

    /// `true` while Linux drives the vdev and the endpoints are announced.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Link generation: 0 before the first link-up, then incremented at every link-up (each
    /// Linux that starts or restarts the vdev).
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` (`None`: for ever) for the link to be up.
    ///
    /// # Errors
    /// [`Error::TimedOut`].
    pub fn wait_up(&self, timeout: Option<Duration>) -> Result<()> {
        poll_until(timeout, || {
            if self.is_up() {
                Ok(())
            } else {
                Err(Error::WouldBlock)
            }
        })
    }

    /// Calls `f` in the link thread at every link change, after the endpoints have been
    /// created again ([`LinkState::Up`]) or forgotten ([`LinkState::Down`]). Replaces an
    /// earlier callback. Keep it short: it delays kick processing.
    pub fn on_link_change(&self, f: fn(LinkState)) {
        self.on_change.store(f as usize, Ordering::Release);
    }

    /// Number of kicks received from Linux since boot.
    pub fn kicks(&self) -> u32 {
        self.kicks.load(Ordering::Relaxed)
    }

    /// Number of times a new Linux reset the vdev while the link was up.
    pub fn resets(&self) -> u32 {
        self.resets.load(Ordering::Relaxed)
    }

    fn notify(&self, s: LinkState) {
        let f = self.on_change.load(Ordering::Acquire);
        if f != 0 {
            // SAFETY: the only non-zero values stored are `fn(LinkState)` pointers.
            let f: fn(LinkState) = unsafe { core::mem::transmute::<usize, fn(LinkState)>(f) };
            f(s);
        }
    }

    /// The link thread: kicks, link-up, reset detection, and the link-change notifications
    /// (a sender may have torn the link down too, so the thread compares what it reported last
    /// with the state now).
    fn run(&'static self) -> ! {
        let (mut told_up, mut told_gen) = (false, 0u32);
        loop {
            let _ = self.kick.take(Duration::millis(POLL_MS.into()));
            {
                let _g = self.lock();
                self.check_link();
                if self.is_up() {
                    // SAFETY: lock held; the vdev is live while up.
                    unsafe {
                        let inner = self.inner.get();
                        (*inner).nested += 1;
                        sys::rproc_virtio_notified((*inner).vdev, sys::RSC_NOTIFY_ID_ANY);
                        (*inner).nested -= 1;
                        self.note_used();
                    }
                } else {
                    self.bring_up();
                }
            }
            let (up, gen) = (self.is_up(), self.generation());
            if told_up && (!up || gen != told_gen) {
                self.notify(LinkState::Down);
            }
            if up && (!told_up || gen != told_gen) {
                self.notify(LinkState::Up);
            }
            (told_up, told_gen) = (up, gen);
        }
    }

    /// The vdev status byte in the shared resource table (after invalidating the cache).
    ///
    /// # Safety
    /// Lock held; `rsc` set by init.
    unsafe fn vdev_status(&self) -> u8 {
        // SAFETY: per the contract; the table's vdev entry is in the rsc-table memory.
        unsafe {
            let v = sys::rsc_table_to_vdev((*self.inner.get()).rsc);
            let p = ptr::addr_of!((*v).status);
            sys::mcore_cache_invd(p as *mut c_void, 1);
            ptr::read_volatile(p)
        }
    }

    /// The vrings as the resource table describes them now: (da, num, align, notifyid).
    ///
    /// # Safety
    /// Lock held; `rsc` set by init.
    unsafe fn table_vrings(&self) -> [(u32, u32, u32, u32); 2] {
        // SAFETY: per the contract; each fw_rsc_vdev_vring is in the rsc-table memory.
        unsafe {
            let rsc = (*self.inner.get()).rsc;
            let vr = [
                sys::rsc_table_get_vring0(rsc),
                sys::rsc_table_get_vring1(rsc),
            ];
            vr.map(|v| {
                sys::mcore_cache_invd(v.cast(), core::mem::size_of::<sys::fw_rsc_vdev_vring>());
                (
                    ptr::read_volatile(ptr::addr_of!((*v).da)),
                    ptr::read_volatile(ptr::addr_of!((*v).num)),
                    ptr::read_volatile(ptr::addr_of!((*v).align)),
                    ptr::read_volatile(ptr::addr_of!((*v).notifyid)),
                )
            })
        }
    }

    /// The virtqueue of vring `i`.
    ///
    /// # Safety
    /// Lock held and link up.
    unsafe fn vq(&self, i: usize) -> *mut sys::virtqueue {
        // SAFETY: per the contract the vdev and its two vrings exist.
        unsafe { (*(*(*self.inner.get()).vdev).vrings_info.add(i)).vq }
    }

    /// (avail->idx, used->idx) of vring `i`, read from shared memory.
    ///
    /// # Safety
    /// Lock held and link up.
    unsafe fn ring_indices(&self, i: usize) -> (u16, u16) {
        // SAFETY: per the contract; avail and used point into the vring Linux placed, which
        // was checked to lie in the mapped shared memory.
        unsafe {
            let vq = self.vq(i);
            let avail = ptr::addr_of!((*(*vq).vq_ring.avail).idx);
            let used = ptr::addr_of!((*(*vq).vq_ring.used).idx);
            sys::mcore_cache_invd(avail as *mut c_void, 2);
            sys::mcore_cache_invd(used as *mut c_void, 2);
            (ptr::read_volatile(avail), ptr::read_volatile(used))
        }
    }

    /// Records what the firmware itself has written and taken, after an OpenAMP call.
    ///
    /// # Safety
    /// Lock held.
    unsafe fn note_used(&self) {
        if !self.is_up() {
            return;
        }
        for i in 0..2 {
            // SAFETY: per the contract, link up.
            unsafe {
                let (_, used) = self.ring_indices(i);
                let vq = self.vq(i);
                let inner = &mut *self.inner.get();
                inner.rings[i].used_written = used;
                inner.rings[i].avail_taken = (*vq).vq_available_idx;
            }
        }
    }

    /// With the lock held: if the link is up but a new Linux has reset the vdev, tears it
    /// down. `true` when it did.
    fn check_link(&'static self) -> bool {
        // SAFETY: lock held by every caller.
        if !self.is_up() || unsafe { (*self.inner.get()).nested } > 0 {
            return false;
        }
        // SAFETY: lock held by every caller (run, Endpoint paths); link up.
        let reset = unsafe {
            let status = self.vdev_status();
            let table = self.table_vrings();
            let rings = (*self.inner.get()).rings;
            let view = |i: usize| {
                let (avail_idx, used_idx) = self.ring_indices(i);
                (
                    rings[i],
                    RingView {
                        da: table[i].0,
                        avail_idx,
                        used_idx,
                    },
                )
            };
            detect_reset(status, &[view(0), view(1)])
        };
        let Some(reason) = reset else {
            return false;
        };
        log::warn!("rpmsg: Linux reset the vdev ({reason:?}): link down");
        self.resets.fetch_add(1, Ordering::Relaxed);
        // SAFETY: lock held, link up.
        unsafe { self.tear_down() };
        true
    }

    /// Forgets the vdev without touching the rings a new Linux may have set up.
    ///
    /// # Safety
    /// Lock held, link up.
    unsafe fn tear_down(&self) {
        self.up.store(false, Ordering::Release);
        // SAFETY: lock held.
        let inner = unsafe { &mut *self.inner.get() };
        for ep in inner.endpoints.iter() {
            ep.forget();
        }
        // SAFETY: the rvdev and vdev are the live ones. With support_ns cleared,
        // rpmsg_deinit_vdev() only unregisters the endpoints (rpmsg_destroy_ept() sends a
        // name-service destroy only with support_ns) and frees the virtqueues;
        // rproc_virtio_remove_vdev() frees the vring info and the vdev.
        unsafe {
            let rvdev = inner.rvdev.as_mut_ptr();
            (*rvdev).rdev.support_ns = false;
            sys::rpmsg_deinit_vdev(rvdev);
            sys::rproc_virtio_remove_vdev(inner.vdev);
        }
        inner.vdev = ptr::null_mut();
        inner.failure_logged = false;
    }

    /// With the lock held and the link down: brings the link up if Linux has set
    /// `DRIVER_OK`. `true` when it did.
    fn bring_up(&'static self) -> bool {
        // SAFETY: lock held by the caller (run).
        if unsafe { self.vdev_status() } & rpmsg_proto::rsc::status::DRIVER_OK == 0 {
            return false;
        }
        // SAFETY: lock held.
        match unsafe { self.create_vdev() } {
            Ok(()) => {
                log::info!("rpmsg: vdev up");
                true
            }
            Err(e) => {
                // SAFETY: lock held.
                let inner = unsafe { &mut *self.inner.get() };
                if !inner.failure_logged {
                    log::error!("rpmsg: vdev not brought up: {e}");
                    inner.failure_logged = true;
                }
                false
            }
        }
    }

    /// # Safety
    /// Lock held, link down.
    unsafe fn create_vdev(&'static self) -> Result<()> {
        // SAFETY: lock held.
        let table = unsafe { self.table_vrings() };
        // SAFETY: lock held.
        let inner = unsafe { &mut *self.inner.get() };
        let mut va = [0usize; 2];
        for (i, &(da, num, align, _)) in table.iter().enumerate() {
            // The whole ring must lie in the shared memory the firmware maps.
            let off = ring_offset(da, num, align, inner.shm_phys as u64, inner.shm_size as u64)
                .map_err(|e| {
                    log::error!("rpmsg: vring {i}: {e}");
                    Error::Init
                })?;
            va[i] = inner.shm_addr + off as usize;
        }
        // SAFETY (whole block): the calls are OpenAMP's, used as in Zephyr's openamp_rsc_table
        // sample; rvdev, the io regions and the table live in this 'static object or in the
        // devicetree memory; each vring was checked to lie in the shared memory.
        unsafe {
            let vdev = sys::rproc_virtio_create_vdev(
                sys::VIRTIO_DEV_DEVICE,
                sys::VDEV_ID,
                sys::rsc_table_to_vdev(inner.rsc).cast(),
                inner.rsc_io.as_mut_ptr(),
                ptr::null_mut(),
                Some(notify_host),
                None,
            );
            if vdev.is_null() {
                return Err(Error::NoMemory);
            }
            for (i, &(_, num, align, notifyid)) in table.iter().enumerate() {
                let rc = sys::rproc_virtio_init_vring(
                    vdev,
                    i as u32,
                    notifyid,
                    va[i] as *mut c_void,
                    inner.rsc_io.as_mut_ptr(),
                    num,
                    align,
                );
                if rc != 0 {
                    sys::rproc_virtio_remove_vdev(vdev);
                    return Err(Error::Init);
                }
            }
            ptr::write_bytes(inner.rvdev.as_mut_ptr(), 0, 1);
            let rc = sys::rpmsg_init_vdev(
                inner.rvdev.as_mut_ptr(),
                vdev,
                Some(on_ns_bind),
                inner.shm_io.as_mut_ptr(),
                ptr::null_mut(),
            );
            if let Err(e) = Error::check_rpmsg(rc) {
                sys::rproc_virtio_remove_vdev(vdev);
                return Err(e);
            }
            inner.vdev = vdev;
            for (i, &(da, num, _, _)) in table.iter().enumerate() {
                inner.rings[i] = RingState {
                    da,
                    num: num as u16,
                    avail_taken: 0,
                    used_written: 0,
                };
            }
            let gen = self
                .generation
                .fetch_add(1, Ordering::AcqRel)
                .wrapping_add(1);
            self.up.store(true, Ordering::Release);
            self.note_used();
            // Every bound endpoint again, at its address: the announcements go out again.
            let rdev = ptr::addr_of_mut!((*inner.rvdev.as_mut_ptr()).rdev);
            for ep in inner.endpoints.iter() {
                let rc = ep.create(rdev, gen);
                if rc < 0 {
                    log::error!(
                        "rpmsg: endpoint not created again: {}",
                        Error::from_rpmsg(rc)
                    );
                }
            }
            self.note_used();
        }
        Ok(())
    }

    /// Registers `ep` for creation at every link-up and creates it now if the link is up.
    fn add_endpoint(&'static self, ep: &'static dyn EndpointHooks) -> Result<()> {
        let _g = self.lock();
        // SAFETY: lock held.
        let inner = unsafe { &mut *self.inner.get() };
        inner.endpoints.push(ep).map_err(|_| Error::NoMemory)?;
        self.check_link();
        if self.is_up() {
            let rdev = self.rdev();
            // SAFETY: lock held, link up.
            let rc = unsafe { ep.create(rdev, self.generation()) };
            // SAFETY: lock held.
            unsafe { self.note_used() };
            if rc < 0 {
                inner.endpoints.pop();
                return Err(Error::from_rpmsg(rc));
            }
        }
        Ok(())
    }

    /// The OpenAMP `struct rpmsg_device` (inside the rpmsg virtio device).
    fn rdev(&self) -> *mut sys::rpmsg_device {
        // SAFETY: taking a field address does not read it.
        unsafe { ptr::addr_of_mut!((*(*self.inner.get()).rvdev.as_mut_ptr()).rdev) }
    }

    /// Runs `f` with the lock held if the link is up in generation `gen` and no reset is
    /// detected; afterwards records the ring indices.
    fn with_link<T>(&'static self, gen: u32, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _g = self.lock();
        self.check_link();
        if !self.is_up() || self.generation() != gen {
            self.kick.give(); // let the link thread rebuild at once
            return Err(Error::LinkDown);
        }
        // SAFETY (three blocks): lock held.
        unsafe { (*self.inner.get()).nested += 1 };
        let r = f();
        unsafe { (*self.inner.get()).nested -= 1 };
        unsafe { self.note_used() };
        r
    }
}

/// Checks that the Rust (bindgen) and C (GCC) layouts of the OpenAMP structs Rust allocates
/// agree.
fn check_layouts() -> Result<()> {
    use core::mem::{align_of, size_of};
    // SAFETY: reads of constants the shim defines.
    let c = unsafe {
        [
            sys::mcore_sizeof_rpmsg_endpoint,
            sys::mcore_sizeof_rpmsg_virtio_device,
            sys::mcore_sizeof_metal_io_region,
            sys::mcore_alignof_rpmsg_endpoint,
            sys::mcore_alignof_rpmsg_virtio_device,
        ]
    };
    let rust = [
        size_of::<sys::rpmsg_endpoint>(),
        size_of::<sys::rpmsg_virtio_device>(),
        size_of::<sys::metal_io_region>(),
        align_of::<sys::rpmsg_endpoint>(),
        align_of::<sys::rpmsg_virtio_device>(),
    ];
    if c != rust {
        log::error!("rpmsg: OpenAMP struct layouts differ: C {c:?}, Rust {rust:?}");
        return Err(Error::Init);
    }
    Ok(())
}

/// A received message held in its vring buffer (zero copy). Dereferences to the payload;
/// dropping it returns the buffer to Linux (`rpmsg_release_rx_buffer()`), unless the link went
/// down in between: then the buffer belongs to the new Linux and is only forgotten.
///
/// After a link reset the bytes it shows are shared memory the new Linux owns; drop it soon.
pub struct RxBuffer<'a> {
    ept: *mut sys::rpmsg_endpoint,
    data: *mut c_void,
    len: usize,
    src: u32,
    gen: u32,
    _ep: core::marker::PhantomData<&'a ()>,
}

impl RxBuffer<'_> {
    /// Address of the sending endpoint: reply there with [`Endpoint::send_to`].
    pub fn src(&self) -> u32 {
        self.src
    }
}

impl Deref for RxBuffer<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: OpenAMP handed us `len` bytes at `data` and we hold the buffer
        // (rpmsg_hold_rx_buffer): Linux does not reuse it until it is released or Linux resets
        // the vdev (see the type's docs).
        unsafe { core::slice::from_raw_parts(self.data as *const u8, self.len) }
    }
}

impl Drop for RxBuffer<'_> {
    fn drop(&mut self) {
        let (ept, data) = (self.ept, self.data);
        let _ = RPMSG.with_link(self.gen, || {
            // SAFETY: the buffer was held on this endpoint in this link generation and is
            // released exactly once.
            unsafe { sys::rpmsg_release_rx_buffer(ept, data) };
            Ok(())
        });
    }
}

/// A transmit buffer taken from the vring (zero copy): fill it, then [`TxBuffer::send`].
/// Dropping it unsent gives it back (`rpmsg_release_tx_buffer()`).
pub struct TxBuffer<'a> {
    ept: *mut sys::rpmsg_endpoint,
    data: *mut c_void,
    cap: usize,
    dst: u32,
    gen: u32,
    _ep: core::marker::PhantomData<&'a ()>,
}

impl TxBuffer<'_> {
    /// The whole payload area; its length is the largest payload (496 bytes with 512-byte
    /// buffers).
    pub fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: OpenAMP gave us `cap` writable bytes that no one else touches until send or
        // release (or a Linux reset; see RxBuffer).
        unsafe { core::slice::from_raw_parts_mut(self.data as *mut u8, self.cap) }
    }

    /// Sends the first `len` bytes to the destination chosen when the buffer was taken.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] when `len` exceeds the buffer (the buffer goes back to the
    /// pool); [`Error::LinkDown`] when Linux reset the vdev since the buffer was taken; the
    /// mapped OpenAMP code otherwise.
    pub fn send(self, len: usize) -> Result<()> {
        rpmsg_proto::check_payload(len, self.cap)?;
        let this = core::mem::ManuallyDrop::new(self);
        let (ept, data, dst) = (this.ept, this.data, this.dst);
        RPMSG.with_link(this.gen, || {
            // SAFETY: the buffer came from rpmsg_get_tx_payload_buffer on this endpoint in this
            // link generation; afterwards OpenAMP owns it, so Drop must not run (ManuallyDrop).
            let rc = unsafe {
                sys::rpmsg_send_offchannel_nocopy(ept, (*ept).addr, dst, data, len as c_int)
            };
            if rc < 0 {
                // SAFETY: on failure the buffer is still ours: give it back.
                unsafe { sys::rpmsg_release_tx_buffer(ept, data) };
            }
            Error::check_rpmsg(rc).map(drop)
        })
    }
}

impl Drop for TxBuffer<'_> {
    fn drop(&mut self) {
        let (ept, data) = (self.ept, self.data);
        let _ = RPMSG.with_link(self.gen, || {
            // SAFETY: an unsent buffer of this endpoint and generation, released once.
            unsafe { sys::rpmsg_release_tx_buffer(ept, data) };
            Ok(())
        });
    }
}

/// A message handed to an endpoint callback. Valid during the callback only.
pub struct Received<'a> {
    /// Payload bytes (at most 496).
    pub data: &'a [u8],
    /// Address of the sending endpoint: reply there.
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
    gen: u32,
}

// SAFETY: a Pending is a held OpenAMP rx buffer; moving the pointer between threads is fine,
// ownership is tracked by the queue.
unsafe impl Send for Pending {}

/// An RPMsg endpoint with a receive queue of `N` held buffers.
///
/// Lives in a `static` (OpenAMP keeps a pointer to it), and stays valid across link resets:
///
/// ```ignore
/// static TTY: Endpoint<16> = Endpoint::new();
/// TTY.bind(rpmsg, "rpmsg-tty")?;
/// ```
///
/// Queued messages hold their vring buffer until dropped. An overflow drops the message and
/// counts it in [`Stats::rx_dropped`].
pub struct Endpoint<const N: usize = 16> {
    bound: AtomicBool,
    /// Link generation the OpenAMP endpoint exists in; 0 when it does not.
    live: AtomicU32,
    /// Local address: `RPMSG_ADDR_ANY` until the first creation, then kept for every later one.
    addr: AtomicU32,
    /// Source address of the last message received.
    last_src: AtomicU32,
    name: UnsafeCell<[c_char; RPMSG_NAME_SIZE]>,
    callback: UnsafeCell<Option<fn(&Endpoint<N>, Received<'_>)>>,
    ept: UnsafeCell<MaybeUninit<sys::rpmsg_endpoint>>,
    queue: Mutex<RefCell<Deque<Pending, N>>>,
    rx_sem: Semaphore,
    rx: AtomicU32,
    tx: AtomicU32,
    dropped: AtomicU32,
}

// SAFETY: `name` and `callback` are written once by `bind` (claimed through `bound`) before the
// endpoint is registered, and only read afterwards; `ept` is used by OpenAMP and this module
// only with the link lock held; the queue is behind a critical-section mutex; the rest are
// atomics and a kernel semaphore.
unsafe impl<const N: usize> Sync for Endpoint<N> {}

impl<const N: usize> Default for Endpoint<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> EndpointHooks for Endpoint<N> {
    unsafe fn create(&self, rdev: *mut sys::rpmsg_device, gen: u32) -> c_int {
        let ept = self.raw();
        // SAFETY: lock held (contract); `self` is 'static (bind takes &'static self), so
        // OpenAMP may keep the pointer; rpmsg_create_ept() keeps `priv` as we set it
        // (rpmsg_register_endpoint() passes ept->priv through).
        unsafe {
            (*ept).priv_ = self as *const Self as *mut c_void;
            let rc = sys::rpmsg_create_ept(
                ept,
                rdev,
                (*self.name.get()).as_ptr(),
                self.addr.load(Ordering::Relaxed),
                RPMSG_ADDR_ANY,
                Some(Self::on_message),
                Some(Self::on_unbind),
            );
            if rc >= 0 {
                self.addr.store((*ept).addr, Ordering::Relaxed);
                self.live.store(gen, Ordering::Release);
            }
            rc
        }
    }

    fn forget(&self) {
        self.live.store(0, Ordering::Release);
        self.last_src.store(RPMSG_ADDR_ANY, Ordering::Relaxed);
        // The held buffers belong to the new Linux now: drop the records, release nothing.
        critical_section::with(|cs| self.queue.borrow_ref_mut(cs).clear());
    }
}

impl<const N: usize> Endpoint<N> {
    /// An unbound endpoint, for a `static`.
    pub const fn new() -> Self {
        Self {
            bound: AtomicBool::new(false),
            live: AtomicU32::new(0),
            addr: AtomicU32::new(RPMSG_ADDR_ANY),
            last_src: AtomicU32::new(RPMSG_ADDR_ANY),
            name: UnsafeCell::new([0; RPMSG_NAME_SIZE]),
            callback: UnsafeCell::new(None),
            ept: UnsafeCell::new(MaybeUninit::zeroed()),
            queue: Mutex::new(RefCell::new(Deque::new())),
            rx_sem: Semaphore::new(0, u32::MAX),
            rx: AtomicU32::new(0),
            tx: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
        }
    }

    fn raw(&self) -> *mut sys::rpmsg_endpoint {
        self.ept.get().cast()
    }

    /// Binds the endpoint to `rpmsg` under the service `name`: it is created (local address
    /// chosen by OpenAMP the first time, the same one after every Linux restart) and announced
    /// through the name service each time the link comes up, now if it is up
    /// (`rpmsg_create_ept()`). Messages are queued for [`Endpoint::recv`].
    ///
    /// `name` is at most 31 bytes (Linux `RPMSG_NAME_SIZE` is 32 with the NUL).
    ///
    /// # Errors
    /// [`Error::AlreadyInitialized`] when bound already; [`Error::InvalidParam`] for an empty
    /// or too long name; [`Error::NoMemory`] beyond `CONFIG_MCORE_RS_RPMSG_MAX_ENDPOINTS`;
    /// the mapped OpenAMP code when creating it on a live link fails.
    pub fn bind(&'static self, rpmsg: &'static Rpmsg, name: &str) -> Result<()> {
        self.bind_inner(rpmsg, name, None)
    }

    /// As [`Endpoint::bind`], but every message is passed to `callback` in the link thread and
    /// its buffer released when the callback returns. The callback may send (for example
    /// reply with [`Endpoint::send_to`] to [`Received::src`]).
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
        if name.is_empty() || name.len() >= RPMSG_NAME_SIZE || name.contains('\0') {
            return Err(Error::InvalidParam);
        }
        self.bound
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Error::AlreadyInitialized)?;
        // SAFETY: the `bound` claim gives this thread the only access to `name` and
        // `callback`; nothing reads them before the endpoint is registered below.
        unsafe {
            let n = &mut *self.name.get();
            for (d, s) in n.iter_mut().zip(name.bytes()) {
                *d = s as c_char;
            }
            *self.callback.get() = callback;
        }
        if let Err(e) = rpmsg.add_endpoint(self) {
            self.bound.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    unsafe extern "C" fn on_message(
        ept: *mut sys::rpmsg_endpoint,
        data: *mut c_void,
        len: usize,
        src: u32,
        priv_: *mut c_void,
    ) -> c_int {
        // SAFETY: priv_ is the 'static Endpoint set in create.
        let this = unsafe { &*(priv_ as *const Self) };
        this.rx.fetch_add(1, Ordering::Relaxed);
        this.last_src.store(src, Ordering::Relaxed);
        // SAFETY: written before the endpoint was registered, read-only afterwards.
        if let Some(cb) = unsafe { *this.callback.get() } {
            // SAFETY: OpenAMP passes `len` valid bytes, valid until we return.
            let data = unsafe { core::slice::from_raw_parts(data as *const u8, len) };
            cb(this, Received { data, src });
            return 0;
        }
        let gen = this.live.load(Ordering::Acquire);
        let queued = critical_section::with(|cs| {
            this.queue
                .borrow_ref_mut(cs)
                .push_back(Pending {
                    data,
                    len,
                    src,
                    gen,
                })
                .is_ok()
        });
        if queued {
            // SAFETY: ept/data are the endpoint and buffer of this callback (link thread,
            // lock held).
            unsafe { sys::rpmsg_hold_rx_buffer(ept, data) };
            this.rx_sem.give();
        } else {
            this.dropped.fetch_add(1, Ordering::Relaxed);
            log::warn!("rpmsg: receive queue full, message from {src:#x} dropped");
        }
        0
    }

    unsafe extern "C" fn on_unbind(ept: *mut sys::rpmsg_endpoint) {
        // Called by OpenAMP after it released its own lock, from the name-service callback of
        // the link thread (which holds the link lock). Only atomics are touched here.
        // SAFETY: priv_ is the 'static Endpoint set in create.
        let this = unsafe { &*((*ept).priv_ as *const Self) };
        this.last_src.store(RPMSG_ADDR_ANY, Ordering::Relaxed);
        log::info!(
            "rpmsg: Linux destroyed the channel of endpoint {:#x}",
            this.addr()
        );
    }

    fn live_ept(&self) -> Result<(*mut sys::rpmsg_endpoint, u32)> {
        if !self.bound.load(Ordering::Acquire) {
            return Err(Error::NotBound);
        }
        match self.live.load(Ordering::Acquire) {
            0 => Err(Error::LinkDown),
            gen => Ok((self.raw(), gen)),
        }
    }

    /// Local address of this endpoint: `RPMSG_ADDR_ANY` before its first creation, then the
    /// same for ever.
    pub fn addr(&self) -> u32 {
        self.addr.load(Ordering::Relaxed)
    }

    /// Source address of the last message received on this endpoint (`RPMSG_ADDR_ANY` before
    /// one came, after Linux destroyed the channel, and after a link reset). Prefer replying
    /// to each message's own [`RxBuffer::src`] / [`Received::src`].
    pub fn dest(&self) -> u32 {
        self.last_src.load(Ordering::Relaxed)
    }

    /// Largest payload in bytes a send accepts: 496 with 512-byte buffers.
    pub fn max_payload(&self) -> usize {
        MAX_PAYLOAD
    }

    /// Counters since boot.
    pub fn stats(&self) -> Stats {
        Stats {
            rx: self.rx.load(Ordering::Relaxed),
            tx: self.tx.load(Ordering::Relaxed),
            rx_dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    fn send_raw(&self, data: &[u8], dst: u32) -> Result<()> {
        rpmsg_proto::check_payload(data.len(), MAX_PAYLOAD)?;
        if dst == RPMSG_ADDR_ANY {
            return Err(Error::NoDestination);
        }
        let (ept, gen) = self.live_ept()?;
        RPMSG.with_link(gen, || {
            // SAFETY: live endpoint (lock held, generation checked); `data` is valid for its
            // length, which fits c_int (<= 496).
            let rc = unsafe {
                sys::rpmsg_send_offchannel_raw(
                    ept,
                    (*ept).addr,
                    dst,
                    data.as_ptr().cast(),
                    data.len() as c_int,
                    0,
                )
            };
            Error::check_rpmsg(rc)?;
            self.tx.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    }

    /// Sends `data` to endpoint `dst` without waiting (`rpmsg_trysendto()`).
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] for more than 496 bytes (checked first: no buffer is
    /// taken); [`Error::NoDestination`] for `RPMSG_ADDR_ANY`; [`Error::LinkDown`] while no
    /// Linux drives the vdev; [`Error::WouldBlock`] when no transmit buffer is free;
    /// [`Error::NotBound`] before bind.
    pub fn try_send_to(&self, data: &[u8], dst: u32) -> Result<()> {
        self.send_raw(data, dst)
    }

    /// Sends `data` to [`Endpoint::dest`] without waiting.
    ///
    /// # Errors
    /// As [`Endpoint::try_send_to`].
    pub fn try_send(&self, data: &[u8]) -> Result<()> {
        self.send_raw(data, self.dest())
    }

    /// Sends `data` to `dst`, waiting up to `timeout` for a free transmit buffer (polled every
    /// tick, as OpenAMP's own blocking send polls every 1 ms). Does not wait for the link:
    /// [`Error::LinkDown`] at once while it is down.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when no buffer came in time; otherwise as
    /// [`Endpoint::try_send_to`].
    pub fn send_to(&self, data: &[u8], dst: u32, timeout: Duration) -> Result<()> {
        poll_until(Some(timeout), || self.send_raw(data, dst))
    }

    /// Sends `data` to [`Endpoint::dest`], waiting up to `timeout` for a buffer.
    ///
    /// # Errors
    /// As [`Endpoint::send_to`].
    pub fn send(&self, data: &[u8], timeout: Duration) -> Result<()> {
        self.send_to(data, self.dest(), timeout)
    }

    /// Takes a transmit buffer for a zero-copy send to `dst` (`rpmsg_get_tx_payload_buffer()`),
    /// waiting up to `timeout` for one.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when none was free in time; [`Error::NoDestination`] for
    /// `RPMSG_ADDR_ANY`; [`Error::LinkDown`]; [`Error::NotBound`] before bind.
    pub fn tx_buffer(&self, dst: u32, timeout: Duration) -> Result<TxBuffer<'_>> {
        if dst == RPMSG_ADDR_ANY {
            return Err(Error::NoDestination);
        }
        poll_until(Some(timeout), || {
            let (ept, gen) = self.live_ept()?;
            RPMSG.with_link(gen, || {
                let mut cap: u32 = 0;
                // SAFETY: live endpoint (lock held); `cap` is a valid out-parameter.
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
                    gen,
                    _ep: core::marker::PhantomData,
                })
            })
        })
    }

    /// Waits up to `timeout` for a queued message and returns it without copying. Waiting
    /// works whether or not the link is up: messages come once Linux sends them.
    ///
    /// # Errors
    /// [`Error::TimedOut`] (or [`Error::WouldBlock`] with `NoWait`) when none came;
    /// [`Error::NotBound`] before bind or for a callback endpoint.
    pub fn recv(&self, timeout: impl Into<Timeout>) -> Result<RxBuffer<'_>> {
        if !self.bound.load(Ordering::Acquire) {
            return Err(Error::NotBound);
        }
        // SAFETY: written before the endpoint was registered, read-only afterwards.
        if unsafe { (*self.callback.get()).is_some() } {
            return Err(Error::NotBound);
        }
        let timeout = timeout.into();
        loop {
            self.rx_sem.take(timeout).map_err(|e| match e.0 {
                zephyr::raw::EBUSY => Error::WouldBlock,
                _ => Error::TimedOut,
            })?;
            // A count without a message: its buffer was forgotten at a link reset. Wait again.
            if let Some(p) = critical_section::with(|cs| self.queue.borrow_ref_mut(cs).pop_front())
            {
                return Ok(RxBuffer {
                    ept: self.raw(),
                    data: p.data,
                    len: p.len,
                    src: p.src,
                    gen: p.gen,
                    _ep: core::marker::PhantomData,
                });
            }
        }
    }

    /// [`Endpoint::recv`] without waiting.
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when the queue is empty; as [`Endpoint::recv`] otherwise.
    pub fn try_recv(&self) -> Result<RxBuffer<'_>> {
        self.recv(NoWait)
    }

    /// A byte-stream view of this endpoint for `embedded_io` (`Read` + `Write`). Each reader
    /// owns the message it is part-way through, so any number of them may exist next to
    /// [`Endpoint::recv`] callers.
    pub fn io(&self) -> Io<'_, N> {
        Io {
            ep: self,
            cur: None,
        }
    }
}

/// `embedded_io` over an [`Endpoint`]: reads copy from queued messages (a message may be read
/// in parts), each write sends one message of up to 496 bytes to [`Endpoint::dest`].
pub struct Io<'a, const N: usize> {
    ep: &'a Endpoint<N>,
    cur: Option<(RxBuffer<'a>, usize)>,
}

impl<const N: usize> embedded_io::ErrorType for Io<'_, N> {
    type Error = Error;
}

impl<const N: usize> embedded_io::Read for Io<'_, N> {
    /// Blocks until a message is queued; copies as much as fits and keeps the rest of that
    /// message for the next read. Reads 0 bytes only into an empty `buf`.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (msg, off) = match self.cur.take() {
            Some(c) => c,
            None => (self.ep.recv(Forever)?, 0),
        };
        let n = buf.len().min(msg.len() - off);
        buf[..n].copy_from_slice(&msg[off..off + n]);
        if off + n < msg.len() {
            self.cur = Some((msg, off + n));
        }
        Ok(n)
    }
}

impl<const N: usize> embedded_io::Write for Io<'_, N> {
    /// Sends `buf[..min(len, 496)]` as one message to [`Endpoint::dest`], waiting as long as
    /// needed for a transmit buffer. An empty `buf` sends nothing.
    ///
    /// # Errors
    /// [`Error::NoDestination`] before Linux has sent anything; [`Error::LinkDown`].
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(MAX_PAYLOAD);
        let dst = self.ep.dest();
        poll_until(None, || self.ep.send_raw(&buf[..n], dst))?;
        Ok(n)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
