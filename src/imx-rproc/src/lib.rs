//! Linux's i.MX remoteproc load rules, applied to a firmware ELF and the board's Linux
//! devicetree overlay: what `mcore check-elf --board` runs.
//!
//! * [`att`]: the SoCs and imx_rproc's address translation tables;
//! * [`dt`]: a compiled Linux devicetree overlay (`.dtbo`), and `dtc` for `.dtso` sources;
//! * [`fw`]: the firmware ELF as remoteproc reads it, and the mcore-rs layout record;
//! * [`boards`]: the boards and the overlays `linux/dts/` ships;
//! * [`check`]: the rules, with the kernel's messages.

#![deny(missing_docs)]

pub mod att;
pub mod boards;
pub mod check;
pub mod dt;
pub mod fw;

use std::path::Path;

pub use check::{Finding, Report};

/// Why [`check_elf`] could not judge a firmware.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Unknown board name.
    #[error("unknown board '{0}' (known: {known})", known = boards::names())]
    UnknownBoard(String),
    /// The overlay could not be compiled or read.
    #[error(transparent)]
    Overlay(#[from] dt::DtError),
    /// The firmware file could not be read, or its section headers are unreadable.
    #[error("{0}")]
    Elf(String),
}

/// The outcome of [`check_elf`].
#[derive(Debug)]
pub enum Verdict {
    /// Linux would load and start the firmware and both sides would hear each other.
    Loads(Report),
    /// What would go wrong, in the kernel's words.
    Refused(Vec<Finding>),
}

/// Checks firmware `elf` for `board` against the board's shipped overlay, or `overlay`
/// (a `.dtbo`, or a source compiled with `dtc`).
///
/// # Errors
/// [`SetupError`] when the board is unknown or the overlay unreadable; a firmware that
/// fails `rproc_elf_sanity_check()` is a [`Verdict::Refused`].
pub fn check_elf(board: &str, overlay: Option<&Path>, elf: &Path) -> Result<Verdict, SetupError> {
    let b = boards::find(board).ok_or_else(|| SetupError::UnknownBoard(board.into()))?;
    let ov = match overlay {
        Some(p) => dt::Overlay::load(p)?,
        None => dt::Overlay::parse(&b.compile_overlay()?.dtbo)?,
    };
    let bytes =
        std::fs::read(elf).map_err(|e| SetupError::Elf(format!("{}: {e}", elf.display())))?;
    if let Err(msg) = fw::sanity_check(&bytes) {
        return Ok(Verdict::Refused(vec![Finding {
            kernel_says: Some(msg),
            source: "rproc_elf_sanity_check()",
            detail: format!("{} is not a firmware Linux loads", elf.display()),
        }]));
    }
    let fw = fw::Firmware::parse(bytes)
        .map_err(|e| SetupError::Elf(format!("{}: {e}", elf.display())))?;
    Ok(match check::check(b.soc, &ov, &fw) {
        Ok(r) => Verdict::Loads(r),
        Err(f) => Verdict::Refused(f),
    })
}
