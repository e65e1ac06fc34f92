//! Safe handle over a Zephyr IPM (inter-processor mailbox) device.
//!
//! Covers the two i.MX mailboxes this project targets, both through Zephyr's IPM API
//! (`zephyr/drivers/ipm.h`):
//!
//! * i.MX 7D: the Messaging Unit side B as `nxp,imx-mu` (`drivers/ipm/ipm_imx.c`); ids 0..=3
//!   are the four MU channels, each carrying up to `CONFIG_IPM_IMX_MAX_DATA_SIZE` bytes.
//! * i.MX 95: MU7 through the MBOX driver `nxp,mbox-imx-mu`, wrapped as IPM by
//!   `zephyr,mbox-ipm` (`drivers/ipm/ipm_mbox.c`); id is ignored on send, data size is the
//!   MBOX MTU.
//!
//! A kick in OpenAMP terms is one [`Ipm::send`].

use core::ffi::c_void;
use core::ptr::NonNull;

use crate::sys;
use crate::{Error, Result};

/// An IPM device: a `struct device` that implements Zephyr's IPM API.
///
/// A handle is unique, as zephyr-lang-rust hands out devices: a device has one receive
/// callback, so whoever holds the handle owns it. [`Ipm::chosen`] gives the `zephyr,ipc`
/// mailbox once; the RPMsg device ([`crate::rpmsg::Rpmsg::init`]) takes it for its kicks.
#[derive(Debug)]
pub struct Ipm {
    dev: NonNull<sys::device>,
}

// SAFETY: Zephyr devices are statically allocated and their API functions may be called from
// any thread; the handle is only a pointer to that static object.
unsafe impl Send for Ipm {}
// SAFETY: as for Send; no Rust-side state is shared.
unsafe impl Sync for Ipm {}

/// Receives IPM messages. Runs in the driver's interrupt context: keep it short, do not block.
pub trait IpmHandler: Sync {
    /// Called for every message the remote side sends on channel `id`.
    fn on_receive(&self, id: u32, data: IpmData<'_>);
}

/// The data words of a received IPM message, readable during [`IpmHandler::on_receive`] only.
///
/// The driver hands over a `volatile` pointer into the MU registers or its own buffer;
/// reads are volatile byte reads.
pub struct IpmData<'a> {
    ptr: *const u8,
    len: usize,
    _life: core::marker::PhantomData<&'a u8>,
}

impl IpmData<'_> {
    /// Number of bytes readable: the device's maximum data size (bytes), 0 when the driver
    /// passed no data.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` when there are no data bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies up to `out.len()` bytes into `out`; returns how many were copied.
    pub fn read(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        for (i, b) in out.iter_mut().take(n).enumerate() {
            // SAFETY: `ptr` is valid for `len` bytes for the duration of the callback, which
            // bounds this struct's lifetime; `i < n <= len`.
            *b = unsafe { core::ptr::read_volatile(self.ptr.add(i)) };
        }
        n
    }

    /// The first four bytes as a little-endian `u32`, or `None` with fewer than four bytes.
    /// Linux `imx_rproc_kick()` writes `vqid << 16` here; `imx_rproc` itself ignores the word
    /// it receives and services every virtqueue.
    pub fn word(&self) -> Option<u32> {
        let mut w = [0u8; 4];
        (self.read(&mut w) == 4).then(|| u32::from_le_bytes(w))
    }
}

impl Ipm {
    /// The device chosen as `zephyr,ipc` in the devicetree (the one OpenAMP uses), once per
    /// boot.
    ///
    /// # Errors
    /// [`Error::DeviceNotReady`] without a `zephyr,ipc` chosen node, when the driver failed to
    /// initialise, or when the handle was taken already (by the RPMsg device, typically).
    pub fn chosen() -> Result<Self> {
        static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if TAKEN.swap(true, core::sync::atomic::Ordering::AcqRel) {
            return Err(Error::DeviceNotReady);
        }
        // SAFETY: plain getter in mcore_ipm_shim.c; returns a static device or NULL.
        let dev = unsafe { sys::mcore_ipm_chosen() };
        // SAFETY: `dev` is NULL or a static `struct device` from DEVICE_DT_GET, and the TAKEN
        // claim makes this the only handle to it.
        let r = unsafe { Self::from_raw(dev as *mut sys::device) };
        if r.is_err() {
            TAKEN.store(false, core::sync::atomic::Ordering::Release);
        }
        r
    }

    /// Wraps a raw device pointer.
    ///
    /// # Safety
    /// `dev` must be NULL or point to a statically allocated Zephyr device whose driver
    /// implements the IPM API, and no other [`Ipm`] handle to it may exist (the handle owns
    /// the device's one receive callback).
    ///
    /// # Errors
    /// [`Error::DeviceNotReady`] for NULL or a device that is not ready.
    pub unsafe fn from_raw(dev: *mut sys::device) -> Result<Self> {
        let dev = NonNull::new(dev).ok_or(Error::DeviceNotReady)?;
        // SAFETY: `dev` is a valid device per this function's contract.
        if !unsafe { zephyr::raw::device_is_ready(dev.as_ptr()) } {
            return Err(Error::DeviceNotReady);
        }
        Ok(Self { dev })
    }

    /// The raw `struct device` pointer.
    pub fn as_raw(&self) -> *const sys::device {
        self.dev.as_ptr()
    }

    /// Largest channel id the device accepts (`ipm_max_id_val_get()`).
    pub fn max_id(&self) -> u32 {
        // SAFETY: valid IPM device (invariant of Self).
        unsafe { sys::mcore_ipm_max_id_val_get(self.dev.as_ptr()) }
    }

    /// Largest data size in bytes of one message (`ipm_max_data_size_get()`): 4 on i.MX 7D
    /// with `CONFIG_IPM_IMX_MAX_DATA_SIZE_4`, the MU MBOX MTU on i.MX 95, 0 for signal-only
    /// mailboxes.
    pub fn max_data_size(&self) -> usize {
        // SAFETY: valid IPM device (invariant of Self).
        let n = unsafe { sys::mcore_ipm_max_data_size_get(self.dev.as_ptr()) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Sends `data` on channel `id` (`ipm_send()`). With `wait`, busy-waits until the remote
    /// side has read the message (the driver's definition of wait).
    ///
    /// # Errors
    /// * [`Error::MessageTooLarge`] when `data` is longer than [`Ipm::max_data_size`];
    /// * [`Error::InvalidId`] when `id > max_id()` (checked here because `zephyr,mbox-ipm`
    ///   ignores ids);
    /// * [`Error::Busy`] when the channel is still full and `wait` is false;
    /// * other driver errors mapped from errno.
    pub fn send(&self, wait: bool, id: u32, data: &[u8]) -> Result<()> {
        let max = self.max_data_size();
        if data.len() > max {
            return Err(Error::MessageTooLarge {
                len: data.len(),
                max,
            });
        }
        let max_id = self.max_id();
        if id > max_id {
            return Err(Error::InvalidId { id, max: max_id });
        }
        let ptr = if data.is_empty() {
            core::ptr::null()
        } else {
            data.as_ptr().cast()
        };
        // SAFETY: valid device; `ptr` is NULL or valid for `data.len()` bytes, which fits in
        // an i32 because it is at most max_data_size (an int).
        let rc = unsafe {
            sys::mcore_ipm_send(self.dev.as_ptr(), wait as i32, id, ptr, data.len() as i32)
        };
        Error::check_errno(rc).map(drop)
    }

    /// Enables or disables reception (`ipm_set_enabled()`).
    ///
    /// # Errors
    /// Driver errors mapped from errno.
    pub fn set_enabled(&self, enable: bool) -> Result<()> {
        // SAFETY: valid IPM device (invariant of Self).
        Error::check_errno(unsafe { sys::mcore_ipm_set_enabled(self.dev.as_ptr(), enable as i32) })
            .map(drop)
    }

    /// Registers `handler` for every received message (`ipm_register_callback()`), replacing
    /// the earlier one of this handle. Call [`Ipm::set_enabled`] afterwards.
    ///
    /// The driver stores the callback and its user data as two separate writes; they are made
    /// with interrupts locked, so the mailbox interrupt never sees a new callback with old user
    /// data.
    pub fn register_handler<H: IpmHandler>(&mut self, handler: &'static H) {
        unsafe extern "C" fn trampoline<H: IpmHandler>(
            dev: *const sys::device,
            user: *mut c_void,
            id: u32,
            data: *mut c_void,
        ) {
            // SAFETY: `user` is the `&'static H` registered below.
            let handler = unsafe { &*(user as *const H) };
            let len = if data.is_null() {
                0
            } else {
                // SAFETY: `dev` is the device the callback was registered on.
                usize::try_from(unsafe { sys::mcore_ipm_max_data_size_get(dev) }).unwrap_or(0)
            };
            handler.on_receive(
                id,
                IpmData {
                    ptr: data as *const u8,
                    len,
                    _life: core::marker::PhantomData,
                },
            );
        }
        critical_section::with(|_| {
            // SAFETY: the handler outlives the registration ('static) and is Sync, as it runs
            // in interrupt context; the trampoline matches ipm_callback_t; `&mut self` and the
            // unique handle mean no one else registers concurrently, and the interrupt lock
            // keeps the ISR out between the driver's two writes.
            unsafe {
                sys::mcore_ipm_register_callback(
                    self.dev.as_ptr(),
                    Some(trampoline::<H>),
                    handler as *const H as *mut c_void,
                )
            }
        });
    }
}
