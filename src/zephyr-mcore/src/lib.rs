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
//! let rpmsg = Rpmsg::init()?;                       // waits for Linux remoteproc
//! ECHO.bind(rpmsg, "rpmsg-client-sample")?;         // name-service announcement
//! loop {
//!     rpmsg.poll(Duration::millis(100))?;           // process kicks
//!     while let Ok(msg) = ECHO.try_recv() { ECHO.send_to(&msg, msg.src(), Duration::millis(10))?; }
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

#[cfg(CONFIG_RUST_I2C)]
pub mod i2c;

pub use rpmsg_proto as proto;
