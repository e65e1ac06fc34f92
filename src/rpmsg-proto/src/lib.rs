//! Wire formats shared by mcore-rs firmware and its Linux-side host.
//!
//! Everything the two sides of an RPMsg link must agree on lives here once:
//!
//! * [`rsc`]: the remoteproc resource table (`.resource_table` ELF section), as Linux
//!   `drivers/remoteproc/remoteproc_core.c` and OpenAMP `remoteproc.h` define it, with the
//!   checks Linux applies before it boots the core.
//! * [`msg`]: the 16-byte RPMsg header and the name-service message (Linux
//!   `drivers/rpmsg/virtio_rpmsg_bus.c`, `include/linux/rpmsg/ns.h`; OpenAMP `rpmsg_internal.h`).
//! * [`link`]: the device side's rules for a vdev that a new Linux may reset at any time
//!   (reset detection, vring placement).
//! * [`openamp`]: OpenAMP's `RPMSG_ERR_*` codes.
//!
//! All multi-byte fields are little-endian, as on every i.MX core and as virtio 1.x requires.
//! The crate is `no_std` and allocation-free so the firmware and the host link the same code.

#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub mod link;
pub mod msg;
pub mod openamp;
pub mod rsc;

pub use msg::{
    check_payload, NsFlags, NsMessage, PayloadTooLarge, RpmsgHeader, MAX_PAYLOAD, RPMSG_ADDR_ANY,
    RPMSG_BUFFER_SIZE, RPMSG_HEADER_SIZE, RPMSG_NAME_SIZE, RPMSG_NS_ADDR,
};
