//! The live resource table, for both ways Linux comes to the M-core (built with
//! `CONFIG_OPENAMP_COPY_RSC_TABLE`: i.MX 95, i.MX 7D, native_sim).
//!
//! Linux keeps the live table in the `rsc-table` reserved-memory region, which the firmware
//! knows as `zephyr,ipc_rsc_table`:
//!
//! * **remoteproc start** (`echo start > /sys/class/remoteproc/remoteprocN/state`): Linux
//!   copies the ELF's `.resource_table` into the region *before* it starts the core
//!   (`rproc_start()`), then writes vring addresses, notify ids and the vdev status there while
//!   the firmware boots. Zephyr's `rsc_table_get()` copies the firmware's pristine table over
//!   the region at every call and can wipe what Linux already wrote (NXP's kernel hides that
//!   race with `fsl,startup-delay-ms = <50>`; mainline has no delay).
//! * **attach** (the System Manager or a boot loader started the core; Linux finds it running
//!   and attaches, at boot or after it restarted): Linux reads the table from the region
//!   (`imx_rproc_get_loaded_rsc_table()`), so the firmware must have put it there.
//!
//! [`__wrap_rsc_table_get`] replaces Zephyr's function at link time (`--wrap=rsc_table_get`,
//! set by the module's CMakeLists.txt): it keeps the region when it already holds a live copy
//! of the firmware's own table ([`rpmsg_proto::rsc::is_live_copy`]: equal but for the fields
//! Linux writes) and copies the pristine table otherwise. Calling it again never wipes a live
//! table.

use core::ffi::{c_int, c_void};
use core::ptr;

use crate::sys;

/// Zephyr's `rsc_table_get()` with the live table kept: `*table_ptr` is the
/// `zephyr,ipc_rsc_table` region and `*length` the table's size in bytes.
///
/// # Safety
/// Both pointers must be valid for a write (OpenAMP callers pass locals). The region must be
/// mapped: true on i.MX, and on native_sim once its IPM driver has initialised.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rsc_table_get(table_ptr: *mut *mut c_void, length: *mut c_int) {
    let mut len = 0usize;
    let mut region_size = 0usize;
    // SAFETY: the shim returns its static table and writes its length.
    let pristine = unsafe { sys::mcore_rsc_pristine(&mut len) }.cast::<u8>();
    // SAFETY: the shim returns the devicetree region and writes its size.
    let region = unsafe { sys::mcore_rsc_region(&mut region_size) }.cast::<u8>();
    // SAFETY: `pristine` points to a `static const` table of `len` bytes.
    let pristine = unsafe { core::slice::from_raw_parts(pristine, len) };
    // SAFETY: the region is `region_size` bytes of mapped memory (devicetree), and the C side
    // asserts at build time that the table fits it (`len <= region_size`).
    unsafe { sys::mcore_rsc_cache_invd(region.cast(), region_size) };
    // Linux may write its fields at any time: read byte by byte, volatile.
    // SAFETY: `i < len <= region_size`, inside the region.
    let kept =
        rpmsg_proto::rsc::is_live_copy(pristine, |i| unsafe { ptr::read_volatile(region.add(i)) });
    if kept {
        log::info!("rpmsg: resource table at {region:p}: kept the live table Linux wrote");
    } else {
        for (i, b) in pristine.iter().enumerate() {
            // SAFETY: as for the reads.
            unsafe { ptr::write_volatile(region.add(i), *b) };
        }
        // SAFETY: as for the invalidate.
        unsafe { sys::mcore_rsc_cache_flush(region.cast(), len) };
        log::info!("rpmsg: resource table copied to {region:p}, where Linux reads it to attach");
    }
    // SAFETY: valid for writes per the contract.
    unsafe {
        *table_ptr = region.cast();
        *length = len as c_int;
    }
}
