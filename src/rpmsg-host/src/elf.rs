//! The firmware's resource table as Linux remoteproc finds it in `zephyr.elf`.
//!
//! Linux `rproc_elf_load_rsc_table()` (drivers/remoteproc/remoteproc_elf_loader.c) looks for a
//! section named `.resource_table`, requires it to lie inside the file, and hands its bytes to
//! `rproc_handle_resources()`; [`check_elf`] does the same and then applies
//! [`rpmsg_proto::rsc::RpmsgVdev::find`].

use std::path::Path;

use object::{Object, ObjectSection};
use rpmsg_proto::rsc::{RpmsgVdev, RscError};

/// Why an ELF's resource table was refused.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File name.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not an ELF file the `object` crate can parse.
    #[error("{path}: not a readable ELF file: {source}")]
    Parse {
        /// File name.
        path: String,
        /// Parser error.
        source: object::Error,
    },
    /// No `.resource_table` section (Linux: "no resource table found").
    #[error("{0}: no .resource_table section (Linux remoteproc would boot it without RPMsg)")]
    NoSection(String),
    /// The section has no file contents (NOBITS).
    #[error("{0}: .resource_table has no contents in the file")]
    Empty(String),
    /// The table failed a check.
    #[error("{path}: {source}")]
    Table {
        /// File name.
        path: String,
        /// Which check failed.
        source: RscError,
    },
}

/// What [`check_elf`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RscReport {
    /// Load address of `.resource_table`.
    pub address: u64,
    /// Section size in bytes.
    pub size: usize,
    /// The checked RPMsg vdev.
    pub vdev: RpmsgVdev,
}

/// Returns the bytes of `.resource_table` in `elf` and its load address.
///
/// # Errors
/// [`ElfError::Parse`], [`ElfError::NoSection`], [`ElfError::Empty`].
pub fn resource_table<'a>(path: &str, elf: &'a [u8]) -> Result<(u64, &'a [u8]), ElfError> {
    let file = object::File::parse(elf)
        .map_err(|source| ElfError::Parse { path: path.into(), source })?;
    let sec = file
        .section_by_name(".resource_table")
        .ok_or_else(|| ElfError::NoSection(path.into()))?;
    let data = sec.data().map_err(|source| ElfError::Parse { path: path.into(), source })?;
    if data.is_empty() {
        return Err(ElfError::Empty(path.into()));
    }
    Ok((sec.address(), data))
}

/// Reads `path` and checks its resource table as Linux remoteproc and virtio_rpmsg_bus would:
/// version 1, a `VIRTIO_ID_RPMSG` vdev with `VIRTIO_RPMSG_F_NS`, two vrings whose `num` and
/// `align` are powers of two.
///
/// # Errors
/// Any [`ElfError`]; the file is never modified.
pub fn check_elf(path: &Path) -> Result<RscReport, ElfError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ElfError::Io { path: name.clone(), source })?;
    let (address, table) = resource_table(&name, &bytes)?;
    let vdev = RpmsgVdev::find(table).map_err(|source| ElfError::Table { path: name, source })?;
    Ok(RscReport { address, size: table.len(), vdev })
}
