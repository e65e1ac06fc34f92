//! The boards mcore-rs builds for and the Linux devicetree overlay each ships in
//! `linux/dts/` (compiled into this crate, so `mcore check-elf --board` needs no repository).

use crate::att::Soc;

/// A board: its Zephyr name, SoC and shipped Linux overlay.
#[derive(Debug, Clone, Copy)]
pub struct Board {
    /// Zephyr board name (`BOARD` without qualifiers).
    pub name: &'static str,
    /// Zephyr build target with qualifiers.
    pub target: &'static str,
    /// The SoC and M-core.
    pub soc: Soc,
    /// File name of the overlay in `linux/dts/`.
    pub overlay_file: &'static str,
    /// Its text.
    pub overlay_source: &'static str,
    /// The base devicetree the overlay applies to.
    pub base_dtb: &'static str,
}

/// Files the overlays `/include/` (name, text).
pub static INCLUDES: [(&str, &str); 1] = [(
    "mcore-rs-imx7d-m4.dtsi",
    include_str!("../../../linux/dts/mcore-rs-imx7d-m4.dtsi"),
)];

/// Every board.
pub static BOARDS: [Board; 5] = [
    Board {
        name: "imx95_evk",
        target: "imx95_evk/mimx9596/m7",
        soc: Soc::Imx95M7,
        overlay_file: "imx95-19x19-evk-mcore-rs.dtso",
        overlay_source: include_str!("../../../linux/dts/imx95-19x19-evk-mcore-rs.dtso"),
        base_dtb: "imx95-19x19-evk.dtb",
    },
    Board {
        name: "colibri_imx7d",
        target: "colibri_imx7d/mcimx7d/m4",
        soc: Soc::Imx7dM4,
        overlay_file: "imx7d-colibri-mcore-rs.dtso",
        overlay_source: include_str!("../../../linux/dts/imx7d-colibri-mcore-rs.dtso"),
        base_dtb: "imx7d-colibri-eval-v3.dtb",
    },
    Board {
        name: "pico_pi",
        target: "pico_pi/mcimx7d/m4",
        soc: Soc::Imx7dM4,
        overlay_file: "imx7d-pico-pi-mcore-rs.dtso",
        overlay_source: include_str!("../../../linux/dts/imx7d-pico-pi-mcore-rs.dtso"),
        base_dtb: "imx7d-pico-pi.dtb",
    },
    Board {
        name: "warp7",
        target: "warp7/mcimx7d/m4",
        soc: Soc::Imx7dM4,
        overlay_file: "imx7s-warp-mcore-rs.dtso",
        overlay_source: include_str!("../../../linux/dts/imx7s-warp-mcore-rs.dtso"),
        base_dtb: "imx7s-warp.dtb",
    },
    Board {
        name: "96b_meerkat96",
        target: "96b_meerkat96/mcimx7d/m4",
        soc: Soc::Imx7dM4,
        overlay_file: "imx7d-meerkat96-mcore-rs.dtso",
        overlay_source: include_str!("../../../linux/dts/imx7d-meerkat96-mcore-rs.dtso"),
        base_dtb: "imx7d-meerkat96.dtb",
    },
];

/// The board called `name`: a Zephyr board name (`imx95_evk`) or build target
/// (`imx95_evk/mimx9596/m7`).
pub fn find(name: &str) -> Option<&'static Board> {
    let base = name.split('/').next().unwrap_or(name);
    BOARDS.iter().find(|b| b.name == base || b.target == name)
}

/// The names [`find`] accepts, for messages.
pub fn names() -> String {
    BOARDS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

impl Board {
    /// Compiles the board's shipped overlay with `dtc`.
    ///
    /// # Errors
    /// [`crate::dt::DtError`] when `dtc` is missing or fails.
    pub fn compile_overlay(&self) -> Result<crate::dt::Compiled, crate::dt::DtError> {
        crate::dt::compile_source(self.overlay_file, self.overlay_source, &INCLUDES)
    }
}
