//! The SoCs and imx_rproc's address translation tables (ATT): device address (as the M-core
//! sees it) → system bus address, as in `drivers/remoteproc/imx_rproc.c`.
//!
//! The tables below are `imx_rproc_att_imx95_m7` (NXP linux-imx lf-6.12 and mainline, where
//! Peng Fan's "Add support for i.MX95" series added it) and `imx_rproc_att_imx7d` (mainline;
//! NXP's lf-6.12 has the same table).

/// The entry may be mapped at probe: `imx_rproc_addr_init()` `ioremap`s every `ATT_OWN`
/// entry into `priv->mem[]`.
pub const ATT_OWN: u32 = 1 << 31;
/// The entry is device memory (`memcpy_toio` when loading).
pub const ATT_IOMEM: u32 = 1 << 30;

/// One `struct imx_rproc_att` row. Addresses and size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttEntry {
    /// Device address: the M-core's view.
    pub da: u32,
    /// System bus address: Linux's physical address.
    pub sa: u32,
    /// Size of the range in bytes.
    pub size: u32,
    /// [`ATT_OWN`], [`ATT_IOMEM`].
    pub flags: u32,
    /// The comment the kernel gives the row.
    pub what: &'static str,
}

const fn e(da: u32, sa: u32, size: u32, flags: u32, what: &'static str) -> AttEntry {
    AttEntry {
        da,
        sa,
        size,
        flags,
        what,
    }
}

/// `imx_rproc_att_imx95_m7`.
pub static IMX95_M7: [AttEntry; 3] = [
    e(
        0x0000_0000,
        0x203C_0000,
        0x0004_0000,
        ATT_OWN | ATT_IOMEM,
        "TCM CODE NON-SECURE",
    ),
    e(
        0x2000_0000,
        0x2040_0000,
        0x0004_0000,
        ATT_OWN | ATT_IOMEM,
        "TCM SYS NON-SECURE",
    ),
    e(0x8000_0000, 0x8000_0000, 0x5000_0000, 0, "DDR"),
];

/// `imx_rproc_att_imx7d`.
pub static IMX7D: [AttEntry; 12] = [
    e(
        0x0000_0000,
        0x0018_0000,
        0x0000_8000,
        0,
        "OCRAM_S (M4 Boot code) - alias",
    ),
    e(
        0x0018_0000,
        0x0018_0000,
        0x0000_8000,
        ATT_OWN,
        "OCRAM_S (Code)",
    ),
    e(
        0x0090_0000,
        0x0090_0000,
        0x0002_0000,
        0,
        "OCRAM (Code) - alias",
    ),
    e(
        0x0092_0000,
        0x0092_0000,
        0x0002_0000,
        0,
        "OCRAM_EPDC (Code) - alias",
    ),
    e(
        0x0094_0000,
        0x0094_0000,
        0x0000_8000,
        0,
        "OCRAM_PXP (Code) - alias",
    ),
    e(
        0x1FFF_8000,
        0x007F_8000,
        0x0000_8000,
        ATT_OWN | ATT_IOMEM,
        "TCML (Code)",
    ),
    e(
        0x1000_0000,
        0x8000_0000,
        0x0FFF_0000,
        0,
        "DDR (Code) - alias, first part of DDR (Data)",
    ),
    e(
        0x2000_0000,
        0x0080_0000,
        0x0000_8000,
        ATT_OWN | ATT_IOMEM,
        "TCMU (Data)",
    ),
    e(0x2020_0000, 0x0090_0000, 0x0002_0000, 0, "OCRAM (Data)"),
    e(
        0x2022_0000,
        0x0092_0000,
        0x0002_0000,
        0,
        "OCRAM_EPDC (Data)",
    ),
    e(0x2024_0000, 0x0094_0000, 0x0000_8000, 0, "OCRAM_PXP (Data)"),
    e(0x8000_0000, 0x8000_0000, 0x6000_0000, 0, "DDR (Data)"),
];

/// An i.MX application processor whose M-core Linux's `imx_rproc` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soc {
    /// i.MX 95, Cortex-M7, started through the System Manager (SCMI), 64-bit Linux.
    Imx95M7,
    /// i.MX 7D/7S, Cortex-M4, started through the SRC registers, 32-bit Linux.
    Imx7dM4,
}

impl Soc {
    /// The remoteproc node's `compatible` (`imx_rproc_of_match`).
    pub fn compatible(self) -> &'static str {
        match self {
            Soc::Imx95M7 => "fsl,imx95-cm7",
            Soc::Imx7dM4 => "fsl,imx7d-cm4",
        }
    }

    /// The address translation table of this M-core.
    pub fn att(self) -> &'static [AttEntry] {
        match self {
            Soc::Imx95M7 => &IMX95_M7,
            Soc::Imx7dM4 => &IMX7D,
        }
    }

    /// Label of the Messaging Unit the A-cores share with the M-core in the SoC devicetree
    /// (`imx95.dtsi`; mainline `imx7s.dtsi`).
    pub fn mu_label(self) -> &'static str {
        match self {
            Soc::Imx95M7 => "mu7",
            Soc::Imx7dM4 => "mu0a",
        }
    }

    /// `#address-cells` and `#size-cells` of the SoC devicetree's root, which
    /// `/reserved-memory` must repeat (`__reserved_mem_check_root()`).
    pub fn root_cells(self) -> (u32, u32) {
        match self {
            Soc::Imx95M7 => (2, 2),
            Soc::Imx7dM4 => (1, 1),
        }
    }

    /// Linux runs 32-bit ARM: `rmem_dma_setup()` then refuses a `shared-dma-pool` without
    /// `no-map`.
    pub fn linux_is_arm32(self) -> bool {
        matches!(self, Soc::Imx7dM4)
    }

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Soc::Imx95M7 => "i.MX 95 Cortex-M7",
            Soc::Imx7dM4 => "i.MX 7D Cortex-M4",
        }
    }
}

/// `imx_rproc_da_to_sys()`: the first ATT row with `da >= att.da && da + len < att.da +
/// att.size` (strict: a range that ends exactly at the end of a row does not match) gives
/// `sys = att.sa + (da - att.da)`.
///
/// Returns the system address and the row, or `None` where Linux prints
/// "Translation failed: da = 0x.. len = 0x..".
pub fn da_to_sys(att: &'static [AttEntry], da: u64, len: u64) -> Option<(u64, &'static AttEntry)> {
    att.iter().find_map(|a| {
        let start = u64::from(a.da);
        let end = start + u64::from(a.size);
        (da >= start && da.checked_add(len).is_some_and(|e| e < end))
            .then(|| (u64::from(a.sa) + (da - start), a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_end_as_the_kernel() {
        // ITCM: 256 KiB at 0. A segment filling it exactly does not translate.
        assert_eq!(da_to_sys(&IMX95_M7, 0, 0x3_ffff).unwrap().0, 0x203C_0000);
        assert!(da_to_sys(&IMX95_M7, 0, 0x4_0000).is_none());
        assert_eq!(
            da_to_sys(&IMX95_M7, 0x8800_0000, 0x100).unwrap().0,
            0x8800_0000
        );
        assert!(da_to_sys(&IMX95_M7, 0x4000_0000, 4).is_none());
    }

    #[test]
    fn imx7d_aliases() {
        // The M4's address 0 is OCRAM_S, and OCRAM's data alias maps to OCRAM.
        let (sys, row) = da_to_sys(&IMX7D, 0, 0x23c).unwrap();
        assert_eq!((sys, row.flags), (0x18_0000, 0));
        assert_eq!(da_to_sys(&IMX7D, 0x2020_0010, 4).unwrap().0, 0x90_0010);
        assert_eq!(
            da_to_sys(&IMX7D, 0x1FFF_8000, 16).unwrap().1.what,
            "TCML (Code)"
        );
        assert!(da_to_sys(&IMX7D, u64::MAX - 1, 4).is_none(), "no overflow");
    }
}
