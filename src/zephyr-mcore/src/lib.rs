//! Safe Rust APIs over Zephyr's OpenAMP, IPM and I2C for the Cortex-M cores of NXP i.MX
//! application processors (i.MX 95 M7, i.MX 7D M4) running next to Linux.
//!
//! | module | Kconfig | what |
//! |---|---|---|
//! | [`rpmsg`] | `CONFIG_RUST_RPMSG` | RPMsg remote role over OpenAMP: vdev bring-up, endpoints, name service |
//! | [`ipm`] | `CONFIG_RUST_IPM` | Zephyr IPM devices: `nxp,imx-mu`, `zephyr,mbox-ipm` over an MU |
//! | [`i2c`] | `CONFIG_RUST_I2C` | I2C controllers as embedded-hal 1.0 `I2c` |
//!
//! The C side is Zephyr's and OpenAMP's own code; the module adds only thin shims for the
//! syscalls (`src/shim/*.c` in the module). Everything fallible returns [`Error`].
//!
//! ```ignore
//! use zephyr_mcore::rpmsg::{Endpoint, Rpmsg};
//! static ECHO: Endpoint = Endpoint::new();
//! let rpmsg = Rpmsg::init()?;                       // returns at once; Linux may come later
//! ECHO.bind(rpmsg, "rpmsg-client-sample")?;         // announced at every link-up
//! loop {
//!     let msg = ECHO.recv(Forever)?;                // the crate's thread processes kicks
//!     match ECHO.send_to(&msg, msg.src(), Duration::millis(10)) {
//!         Err(Error::LinkDown) => {}                // Linux went away: drop the reply
//!         r => r?,
//!     }
//! }
//! ```

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod error;
pub use error::{Error, Result};

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    missing_docs,
    improper_ctypes,
    unsafe_op_in_unsafe_fn,
    unknown_lints,
    unnecessary_transmutes,
    clippy::all
)]
/// Raw bindgen output over `include/mcore_rs/bindings.h`. Prefer the safe modules.
pub mod sys {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

#[cfg(CONFIG_RUST_IPM)]
pub mod ipm;

#[cfg(CONFIG_RUST_RPMSG)]
pub mod rpmsg;

#[cfg(all(CONFIG_RUST_RPMSG, CONFIG_OPENAMP_COPY_RSC_TABLE))]
pub mod rsc_table;

#[cfg(CONFIG_RUST_I2C)]
pub mod i2c;

pub use rpmsg_proto as proto;

/// 32 random bits from the devicetree's `zephyr,entropy` device (`entropy_get_entropy()`).
///
/// # Errors
/// [`Error::NotSupported`] when the image has no entropy driver (`CONFIG_ENTROPY_GENERATOR`
/// off, as on the i.MX M-cores today); [`Error::DeviceNotReady`]; driver errors.
pub fn entropy_u32() -> Result<u32> {
    let mut v = 0u32;
    // SAFETY: the shim writes 4 bytes to a valid u32.
    let rc = unsafe { sys::mcore_entropy_u32(&mut v) };
    Error::check_errno(rc).map(|_| v)
}
