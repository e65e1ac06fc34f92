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
    let file = object::File::parse(elf).map_err(|source| ElfError::Parse {
        path: path.into(),
        source,
    })?;
    let sec = file
        .section_by_name(".resource_table")
        .ok_or_else(|| ElfError::NoSection(path.into()))?;
    let data = sec.data().map_err(|source| ElfError::Parse {
        path: path.into(),
        source,
    })?;
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
    let bytes = std::fs::read(path).map_err(|source| ElfError::Io {
        path: name.clone(),
        source,
    })?;
    let (address, table) = resource_table(&name, &bytes)?;
    let vdev = RpmsgVdev::find(table).map_err(|source| ElfError::Table { path: name, source })?;
    Ok(RscReport {
        address,
        size: table.len(),
        vdev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object as WObject, StandardSegment};
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    use rpmsg_proto::rsc::zephyr_table;

    /// A minimal ARM ELF with `sections` (name, contents), as the linker would emit them.
    fn elf(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut o = WObject::new(BinaryFormat::Elf, Architecture::Arm, Endianness::Little);
        for (name, data) in sections {
            let seg = o.segment_name(StandardSegment::Data).to_vec();
            let id = o.add_section(seg, name.as_bytes().to_vec(), SectionKind::Data);
            o.append_section_data(id, data, 4);
        }
        o.write().unwrap()
    }

    #[test]
    fn finds_and_checks_the_table() {
        let t = zephyr_table(16);
        let bytes = elf(&[(".text", &[0u8; 8]), (".resource_table", &t)]);
        let (_, data) = resource_table("fw", &bytes).unwrap();
        assert_eq!(data, &t[..]);
        let dir = std::env::temp_dir().join(format!("mcore-elf-test-{}", std::process::id()));
        std::fs::write(&dir, &bytes).unwrap();
        let r = check_elf(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(r.size, 88);
        assert_eq!(r.vdev.vrings[1].num.get(), 16);
    }

    #[test]
    fn missing_section_is_an_error() {
        let bytes = elf(&[(".text", &[0u8; 8])]);
        assert!(matches!(
            resource_table("fw", &bytes),
            Err(ElfError::NoSection(_))
        ));
    }

    #[test]
    fn bad_table_names_the_check() {
        let mut t = zephyr_table(16);
        t[56..60].copy_from_slice(&3u32.to_le_bytes()); // vring0 num = 3
        let bytes = elf(&[(".resource_table", &t)]);
        let path = std::env::temp_dir().join(format!("mcore-elf-bad-{}", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let err = check_elf(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            err,
            ElfError::Table {
                source: RscError::BadVringNum { index: 0, num: 3 },
                ..
            }
        ));
        assert!(
            err.to_string()
                .contains("vring 0: num 3 is not a power of two"),
            "{err}"
        );
    }

    #[test]
    fn not_an_elf() {
        assert!(matches!(
            resource_table("fw", b"hello"),
            Err(ElfError::Parse { .. })
        ));
        let e = check_elf(Path::new("/nonexistent/zephyr.elf")).unwrap_err();
        assert!(matches!(e, ElfError::Io { .. }));
    }
}
