//! The Linux side of mcore-rs RPMsg.
//!
//! * [`elf`]: find and check the `.resource_table` of a firmware ELF as Linux remoteproc does
//!   before `echo start > /sys/class/remoteproc/remoteprocN/state`.

#![deny(missing_docs)]

pub mod elf;
