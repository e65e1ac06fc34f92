//! What Linux does with a firmware ELF on an i.MX board when a user writes `start` to
//! `/sys/class/remoteproc/remoteprocN/state`, with the board's Linux devicetree overlay as
//! the devicetree: every rule that would stop Linux, or leave the firmware unable to talk to
//! it, is a [`Finding`] in the kernel's own words where the kernel prints any.
//!
//! Order and sources (mainline; NXP linux-imx lf-6.12 where it differs):
//! 1. probe: `imx_rproc_probe()`, `imx_rproc_detect_mode()` (`fsl,cpu-id`/`fsl,lmm-id` on
//!    i.MX 95 in NXP's kernel, `syscon` on i.MX 7D), `imx_rproc_xtr_mbox_init()` and
//!    `imx_mu_xlate()`/`imx_mu_startup()` for `mboxes`, `imx_rproc_addr_init()` and
//!    `__reserved_mem_check_root()`/`__rmem_check_for_overlap()` for `memory-region`;
//! 2. `rproc_elf_sanity_check()` (done by [`Firmware::parse`]);
//! 3. the boot address: `imx_rproc_get_boot_addr()` (i.MX 95), reset from address 0 (i.MX 7D);
//! 4. `rproc_elf_load_rsc_table()`/`find_table()`, `rproc_handle_resources()`,
//!    `rproc_handle_vdev()`, `rproc_parse_vring()`;
//! 5. `imx_rproc_prepare()` (carveouts) and `rproc_elf_load_segments()` with
//!    `rproc_da_to_va()`/`imx_rproc_da_to_va()`/`imx_rproc_da_to_sys()`;
//! 6. `imx_rproc_elf_find_loaded_rsc_table()`: where the live table is;
//! 7. `rproc_alloc_vring()`/`rproc_check_carveout_da()`, `rp_find_vq()`;
//! 8. `rproc_add_virtio_dev()` and `rpmsg_probe()`: the buffer pool;
//! 9. the kick: `imx_mu_startup()` enables the receive interrupt of the "rx" index only.

use std::fmt;

use rpmsg_proto::rsc::{RpmsgVdev, RscError, FW_RSC_ADDR_ANY};

use crate::att::{self, AttEntry, Soc, ATT_OWN};
use crate::dt::{DtNode, Overlay, PhandleRef};
use crate::fw::{Firmware, Layout};

/// Linux's page size on both SoCs (4 KiB kernels).
pub const PAGE_SIZE: u64 = 4096;
/// `MAX_RPMSG_BUF_SIZE` of `virtio_rpmsg_bus.c`.
pub const RPMSG_BUF_SIZE: u64 = 512;
/// `MAX_RPMSG_NUM_BUFS` of `virtio_rpmsg_bus.c`.
pub const MAX_RPMSG_NUM_BUFS: u64 = 512;
/// `IMX_RPROC_MEM_MAX`: entries of `priv->mem[]`.
const IMX_RPROC_MEM_MAX: usize = 32;

/// One rule Linux would stop at, or that leaves the firmware deaf or mute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The kernel's own message, where the kernel prints one.
    pub kernel_says: Option<String>,
    /// The kernel function (or binding) the rule comes from.
    pub source: &'static str,
    /// What is wrong, in terms of the firmware and the overlay.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kernel_says {
            Some(k) => write!(f, "\"{k}\" ({}): {}", self.source, self.detail),
            None => write!(f, "{}: {}", self.source, self.detail),
        }
    }
}

/// What Linux would do, when nothing stops it: one line per fact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Segment placements, the table's home, vrings, buffers, kicks, boot address.
    pub notes: Vec<String>,
}

fn finding(kernel_says: Option<String>, source: &'static str, detail: String) -> Finding {
    Finding {
        kernel_says,
        source,
        detail,
    }
}

/// `vring_size()` of `include/uapi/linux/virtio_ring.h`, in bytes.
pub fn vring_size(num: u64, align: u64) -> u64 {
    let a = align.max(1);
    ((16 * num + 2 * (3 + num) + a - 1) & !(a - 1)) + 2 * 3 + 8 * num
}

/// `PAGE_ALIGN()`.
pub fn page_align(n: u64) -> u64 {
    n.div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// Bytes `dma_alloc_coherent()` takes from a per-device pool for `size` bytes: whole pages,
/// rounded up to a power of two (`__dma_alloc_from_coherent()`, `get_order()`).
pub fn dma_pool_footprint(size: u64) -> u64 {
    page_align(size).div_ceil(PAGE_SIZE).next_power_of_two() * PAGE_SIZE
}

/// A reserved-memory node the remoteproc node names in `memory-region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Index in `memory-region`.
    pub index: usize,
    /// `node->name`: without the unit address.
    pub name: String,
    /// With the unit address (`rmem->name`).
    pub full_name: String,
    /// Physical base address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// `no-map`.
    pub no_map: bool,
    /// `compatible = "shared-dma-pool"`.
    pub dma_pool: bool,
}

#[derive(Debug, Clone)]
struct Mem {
    sys: u64,
    size: u64,
    what: String,
}

#[derive(Debug, Clone)]
struct Carveout {
    name: String,
    da: u64,
    len: u64,
}

/// Where `rproc_da_to_va()` found a device address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Va {
    /// `imx_rproc_da_to_va()`: an ATT row, then an entry of `priv->mem[]`.
    Mem {
        att: &'static str,
        sys: u64,
        mem: String,
    },
    /// A registered carveout.
    Carveout { name: String },
}

/// The remoteproc node as imx_rproc sees it after probe.
struct Linux {
    soc: Soc,
    regions: Vec<Region>,
    mem: Vec<Mem>,
    carveouts: Vec<Carveout>,
    rsc_table: Option<Region>,
    rx: Option<(u32, u32)>,
}

impl Linux {
    /// `rproc_da_to_va()`: `imx_rproc_da_to_va()` first (nothing for `len == 0`; the ATT with
    /// its strict end; then a `priv->mem[]` entry, strict again), then the carveouts (not
    /// strict). The second value is `imx_rproc_da_to_sys()`'s warning when the ATT has no row.
    fn da_to_va(&self, da: u64, len: u64) -> (Option<Va>, Option<String>) {
        let mut warning = None;
        if len != 0 {
            match att::da_to_sys(self.soc.att(), da, len) {
                Some((sys, row)) => {
                    if let Some(m) = self
                        .mem
                        .iter()
                        .find(|m| sys >= m.sys && sys + len < m.sys + m.size)
                    {
                        return (
                            Some(Va::Mem {
                                att: row.what,
                                sys,
                                mem: m.what.clone(),
                            }),
                            None,
                        );
                    }
                }
                None => warning = Some(format!("Translation failed: da = {da:#x} len = {len:#x}")),
            }
        }
        for c in &self.carveouts {
            let off = i128::from(da) - i128::from(c.da);
            if off < 0 || off + i128::from(len) > i128::from(c.len) {
                continue;
            }
            return (
                Some(Va::Carveout {
                    name: c.name.clone(),
                }),
                warning,
            );
        }
        (None, warning)
    }
}

fn hex(soc: Soc, v: u64) -> String {
    if soc.linux_is_arm32() {
        format!("{v:#010x}")
    } else {
        format!("{v:#018x}")
    }
}

fn cells_value(cells: &[u32]) -> u64 {
    cells
        .iter()
        .fold(0u64, |acc, c| (acc << 32) | u64::from(*c))
}

/// Reads the reserved-memory region of node `idx`.
fn region(ov: &Overlay, idx: usize, index: usize, out: &mut Vec<Finding>) -> Option<Region> {
    let n: &DtNode = &ov.nodes[idx];
    let path = n
        .path()
        .unwrap_or_else(|| format!("{}/{}", n.target, n.rel));
    let parent = path.rsplit_once('/').map_or("", |p| p.0);
    if parent != "/reserved-memory" {
        out.push(finding(
            Some("unable to acquire memory-region".into()),
            "imx_rproc_prepare()",
            format!(
                "memory-region {index} is {path}, not a child of /reserved-memory: \
                 of_reserved_mem_lookup() finds no reserved region for it"
            ),
        ));
        return None;
    }
    let (ac, sc) = reserved_memory_cells(ov)?;
    let Some(reg) = n.prop_u32s("reg").filter(|r| r.len() >= (ac + sc) as usize) else {
        out.push(finding(
            Some("unable to resolve memory region".into()),
            "imx_rproc_addr_init()",
            format!("{path} has no reg of {ac} + {sc} cells"),
        ));
        return None;
    };
    Some(Region {
        index,
        name: n.name().to_string(),
        full_name: n.full_name().to_string(),
        base: cells_value(&reg[..ac as usize]),
        size: cells_value(&reg[ac as usize..(ac + sc) as usize]),
        no_map: n.prop("no-map").is_some(),
        dma_pool: n
            .prop_strings("compatible")
            .is_some_and(|c| c.iter().any(|s| s == "shared-dma-pool")),
    })
}

/// `#address-cells`/`#size-cells` the overlay gives `/reserved-memory`.
fn reserved_memory_cells(ov: &Overlay) -> Option<(u32, u32)> {
    ov.nodes
        .iter()
        .filter(|n| n.path().as_deref() == Some("/reserved-memory"))
        .find_map(|n| Some((n.prop_u32("#address-cells")?, n.prop_u32("#size-cells")?)))
}

/// Step 1: the remoteproc node, its mailbox and its memory.
fn probe(soc: Soc, ov: &Overlay, out: &mut Vec<Finding>) -> Option<Linux> {
    let compat = soc.compatible();
    let nodes: Vec<usize> = ov
        .with_compatible(compat)
        .into_iter()
        .filter(|&i| ov.nodes[i].is_available())
        .collect();
    let idx = match nodes.as_slice() {
        [i] => *i,
        [] => {
            out.push(finding(
                None,
                "imx_rproc_probe()",
                format!("the overlay has no enabled \"{compat}\" node: imx_rproc never probes"),
            ));
            return None;
        }
        many => {
            out.push(finding(
                None,
                "imx_rproc_probe()",
                format!(
                    "{} enabled \"{compat}\" nodes: each probes an imx_rproc for the one M-core",
                    many.len()
                ),
            ));
            return None;
        }
    };
    let node = &ov.nodes[idx];
    let src_nxp = "imx_rproc_detect_mode() (NXP lf-6.12)";
    match soc {
        Soc::Imx95M7 => {
            for (prop, what, missing) in [
                ("fsl,cpu-id", "CPU", "No fsl,cpu-id property"),
                ("fsl,lmm-id", "logical machine", "No fsl,lmm-id property"),
            ] {
                match node.prop_u32(prop) {
                    None => out.push(finding(
                        Some(missing.into()),
                        src_nxp,
                        format!("NXP's kernel does not probe the M7 without {prop} (mainline takes 1 from the driver)"),
                    )),
                    Some(1) => {}
                    Some(v) => out.push(finding(
                        None,
                        src_nxp,
                        format!("{prop} = <{v}>: the System Manager's M7 is {what} 1 (IMX95_M7_CPUID/IMX95_M7_LMID in mainline)"),
                    )),
                }
            }
        }
        Soc::Imx7dM4 => {
            if node.prop("syscon").is_none() {
                out.push(finding(
                    Some("failed to find syscon".into()),
                    "imx_rproc_detect_mode()",
                    "the M4's reset is in the SRC: the node needs syscon = <&src>".into(),
                ));
            }
            if node.prop("clocks").is_none() {
                out.push(finding(
                    None,
                    "fsl,imx-rproc.yaml",
                    "fsl,imx7d-cm4 requires clocks = <&clks IMX7D_ARM_M4_ROOT_CLK>".into(),
                ));
            }
        }
    }

    // Mailbox.
    let mu = soc.mu_label();
    let mut rx = None;
    match node.prop_strings("mbox-names") {
        None => out.push(finding(
            None,
            "imx_rproc_xtr_mbox_init()",
            "no mbox-names: imx_rproc requests no mailbox channel, so Linux never kicks the \
             M-core and never hears it"
                .into(),
        )),
        Some(names) => {
            let cells = node.prop_u32s("mboxes").unwrap_or_default();
            if cells.len() % 3 != 0 {
                out.push(finding(
                    None,
                    "of_parse_phandle_with_args(), imx_mu_xlate()",
                    format!(
                        "mboxes has {} cells, not whole <&{mu} TYPE IDX> entries (the MU's \
                         #mbox-cells is 2): the entries after the short one are misread",
                        cells.len()
                    ),
                ));
            }
            for (want, ty_want) in [("tx", 0), ("rx", 1)] {
                let gone = Some(format!("failed to request {want} mailbox channel"));
                let Some(i) = names.iter().position(|n| n == want) else {
                    out.push(finding(
                        gone,
                        "imx_rproc_xtr_mbox_init()",
                        format!("mbox-names has no \"{want}\""),
                    ));
                    continue;
                };
                let Some(e) = cells.get(i * 3..i * 3 + 3) else {
                    out.push(finding(
                        gone,
                        "imx_rproc_xtr_mbox_init()",
                        format!("mboxes has no entry {i} for \"{want}\""),
                    ));
                    continue;
                };
                match ov.phandle_at(idx, "mboxes", i * 12) {
                    PhandleRef::Label(l) if l == mu => {}
                    other => out.push(finding(
                        None,
                        "imx_rproc_xtr_mbox_init()",
                        format!(
                            "\"{want}\" points at {}, not &{mu}: the firmware's mailbox is the \
                             {} side of {mu}",
                            describe(ov, &other),
                            if soc == Soc::Imx95M7 { "M7" } else { "B" }
                        ),
                    )),
                }
                let (ty, ix) = (e[1], e[2]);
                let chan = u64::from(ty) * 4 + u64::from(ix);
                if chan >= 24 {
                    out.push(finding(
                        Some(format!(
                            "Not supported channel number: {chan}. (type: {ty}, idx: {ix})"
                        )),
                        "imx_mu_xlate()",
                        format!("\"{want}\" = <&{mu} {ty} {ix}>"),
                    ));
                    continue;
                }
                // imx_mu_xlate() picks channel TYPE * 4 + IDX, whose type and index are
                // chan / 4 and chan % 4 (imx_mu_init_generic()): <&mu 1 5> is <&mu 2 1>.
                let (ty, ix) = ((chan / 4) as u32, (chan % 4) as u32);
                if ty != ty_want {
                    let why = if want == "tx" {
                        "imx_rproc_kick() must write a transmit data register (type 0, TR[IDX]); \
                         the firmware's mailbox receives data registers"
                    } else {
                        "imx_mu_startup() enables a receive interrupt (RIE[IDX]) for type 1 only"
                    };
                    out.push(finding(
                        None,
                        "imx_mu_startup()",
                        format!("\"{want}\" = <&{mu} {ty} {ix}>: {why}"),
                    ));
                    continue;
                }
                if want == "rx" {
                    rx = Some((ty, ix));
                }
            }
        }
    }
    if soc == Soc::Imx7dM4 && !ov.enables_label(mu) {
        out.push(finding(
            None,
            "imx_rproc_xtr_mbox_init()",
            format!(
                "imx7s.dtsi disables &{mu} and the overlay does not set its status = \"okay\": \
                 the MU driver never probes and imx_rproc waits for it forever (deferred probe: \
                 \"failed to request tx mailbox channel\")"
            ),
        ));
    }

    // Memory.
    let root = soc.root_cells();
    match reserved_memory_cells(ov) {
        None => out.push(finding(
            None,
            "__reserved_mem_check_root()",
            format!(
                "the overlay gives /reserved-memory no #address-cells/#size-cells: check-elf \
                 cannot read its reg (they must be <{}>, <{}> as the root's)",
                root.0, root.1
            ),
        )),
        Some(c) if c != root => out.push(finding(
            Some("Reserved memory: unsupported node format, ignoring".into()),
            "__reserved_mem_check_root()",
            format!(
                "/reserved-memory has #address-cells = <{}>, #size-cells = <{}>; the root has \
                 <{}>, <{}>: Linux reserves none of the regions",
                c.0, c.1, root.0, root.1
            ),
        )),
        Some(_) => {}
    }
    let has_ranges = ov
        .nodes
        .iter()
        .any(|n| n.path().as_deref() == Some("/reserved-memory") && n.prop("ranges").is_some());
    if soc == Soc::Imx7dM4 && !has_ranges {
        out.push(finding(
            Some("Reserved memory: unsupported node format, ignoring".into()),
            "__reserved_mem_check_root()",
            "the i.MX 7D base devicetrees have no /reserved-memory; the one the overlay adds \
             needs an empty ranges"
                .into(),
        ));
    }
    let mut regions = Vec::new();
    let phandles = node.prop_u32s("memory-region").unwrap_or_default();
    for i in 0..phandles.len() {
        match ov.phandle_at(idx, "memory-region", i * 4) {
            PhandleRef::Local(n) => {
                if let Some(r) = region(ov, n, i, out) {
                    regions.push(r);
                }
            }
            PhandleRef::Label(l) => out.push(finding(
                None,
                "imx_rproc_addr_init()",
                format!(
                    "memory-region {i} is &{l} of the base devicetree: check-elf sees only the \
                     overlay; describe the region in it"
                ),
            )),
            PhandleRef::Unresolved(v) => out.push(finding(
                Some("unable to resolve memory region".into()),
                "imx_rproc_addr_init()",
                format!("memory-region {i} is phandle {v:#x}, which no node has"),
            )),
        }
    }
    // __rmem_check_for_overlap(): every reserved region of the overlay, sorted by base.
    let mut all: Vec<(String, u64, u64)> = Vec::new();
    if let Some((ac, sc)) = reserved_memory_cells(ov) {
        for n in &ov.nodes {
            let parent = n
                .path()
                .and_then(|p| p.rsplit_once('/').map(|p| p.0.to_string()));
            if parent.as_deref() != Some("/reserved-memory") {
                continue;
            }
            if let Some(reg) = n.prop_u32s("reg").filter(|r| r.len() >= (ac + sc) as usize) {
                all.push((
                    n.full_name().to_string(),
                    cells_value(&reg[..ac as usize]),
                    cells_value(&reg[ac as usize..(ac + sc) as usize]),
                ));
            }
        }
    }
    all.sort_by_key(|r| r.1);
    for w in all.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.1 + a.2 > b.1 {
            out.push(finding(
                Some(format!(
                    "OVERLAP DETECTED!\n{} ({}--{}) overlaps with {} ({}--{})",
                    a.0,
                    hex(soc, a.1),
                    hex(soc, a.1 + a.2),
                    b.0,
                    hex(soc, b.1),
                    hex(soc, b.1 + b.2)
                )),
                "__rmem_check_for_overlap()",
                "two reserved-memory regions of the overlay overlap".into(),
            ));
        }
    }

    // imx_rproc_addr_init(): priv->mem[]; imx_rproc_prepare(): carveouts.
    let mut mem: Vec<Mem> = soc
        .att()
        .iter()
        .filter(|a| a.flags & ATT_OWN != 0)
        .map(|a: &AttEntry| Mem {
            sys: u64::from(a.sa),
            size: u64::from(a.size),
            what: a.what.to_string(),
        })
        .collect();
    for r in regions.iter().filter(|r| !r.name.starts_with("vdev")) {
        if mem.len() < IMX_RPROC_MEM_MAX {
            mem.push(Mem {
                sys: r.base,
                size: r.size,
                what: r.full_name.clone(),
            });
        }
    }
    let carveouts = regions
        .iter()
        .filter(|r| r.name != "vdev0buffer" && r.name != "rsc-table")
        .map(|r| Carveout {
            name: r.name.clone(),
            da: r.base,
            len: r.size,
        })
        .collect();
    let rsc_table = regions
        .iter()
        .rev()
        .find(|r| r.name == "rsc-table")
        .cloned();
    Some(Linux {
        soc,
        regions,
        mem,
        carveouts,
        rsc_table,
        rx,
    })
}

fn describe(ov: &Overlay, r: &PhandleRef) -> String {
    match r {
        PhandleRef::Label(l) => format!("&{l}"),
        PhandleRef::Local(i) => ov.nodes[*i].full_name().to_string(),
        PhandleRef::Unresolved(v) => format!("phandle {v:#x}"),
    }
}

/// The kernel's words for a resource-table problem, and the function that prints them.
fn rsc_words(e: &RscError, table: &[u8]) -> (Option<String>, &'static str, String) {
    let vr = |index: usize| vring_fields(table, index).unwrap_or((0, 0));
    match *e {
        RscError::Truncated { .. } => (
            Some("resource table incomplete".into()),
            "find_table()",
            e.to_string(),
        ),
        RscError::BadVersion(v) => (
            Some(format!("unsupported fw ver: {v}")),
            "find_table()",
            e.to_string(),
        ),
        RscError::ReservedNonZero => (
            Some("non zero reserved bytes".into()),
            "find_table()",
            e.to_string(),
        ),
        RscError::BadOffset { .. } => (
            Some("rsc table is truncated".into()),
            "rproc_handle_resources()",
            e.to_string(),
        ),
        RscError::VdevTruncated => (
            Some("vdev rsc is truncated".into()),
            "rproc_handle_vdev()",
            e.to_string(),
        ),
        RscError::VdevReservedNonZero => (
            Some("vdev rsc has non zero reserved bytes".into()),
            "rproc_handle_vdev()",
            e.to_string(),
        ),
        RscError::VringCount(n) if n > 2 => (
            Some(format!("too many vrings: {n}")),
            "rproc_handle_vdev()",
            e.to_string(),
        ),
        RscError::BadVringNum { index, num: 0 } | RscError::BadVringAlign { index, align: 0 } => {
            let (align, num) = vr(index);
            (
                Some(format!("invalid qsz ({num}) or alignment ({align})")),
                "rproc_parse_vring()",
                e.to_string(),
            )
        }
        RscError::VringCount(_) => (
            None,
            "rpmsg_probe()",
            format!("{e}: virtio_find_vqs(vdev, 2, ...) fails and virtio_rpmsg_bus never probes"),
        ),
        RscError::NoRpmsgVdev => (
            None,
            "rproc_handle_vdev()",
            format!("{e}: Linux creates no RPMsg bus for the firmware"),
        ),
        RscError::NoNameService => (
            None,
            "rpmsg_probe()",
            format!("{e}: Linux ignores the firmware's name-service announcements"),
        ),
        RscError::BadVringNum { .. } | RscError::BadVringAlign { .. } => (
            None,
            "vring_init()",
            format!("{e}: virtio_ring masks indices with num - 1 and aligns with align - 1"),
        ),
    }
}

/// `(align, num)` of vring `index` of the first RPMsg-id vdev, read without checks.
fn vring_fields(t: &[u8], index: usize) -> Option<(u32, u32)> {
    let w =
        |o: usize| -> Option<u32> { Some(u32::from_le_bytes(t.get(o..o + 4)?.try_into().ok()?)) };
    let num = w(4)? as usize;
    (0..num.min(64)).find_map(|k| {
        let o = w(16 + 4 * k)? as usize;
        (w(o)? == rpmsg_proto::rsc::RSC_VDEV && w(o + 4)? == rpmsg_proto::rsc::VIRTIO_ID_RPMSG)
            .then_some(o + 28 + 20 * index)
            .and_then(|v| Some((w(v + 4)?, w(v + 8)?)))
    })
}

fn in_shm(l: &Layout, base: u64, len: u64) -> bool {
    base >= l.shm_da && base + len <= l.shm_da + l.shm_size
}

/// Applies Linux's load rules for `soc` with overlay `ov` to firmware `fw`.
///
/// # Errors
/// Every [`Finding`], in the order Linux meets them (segment loading stops at the first bad
/// one, as `rproc_elf_load_segments()` does).
pub fn check(soc: Soc, ov: &Overlay, fw: &Firmware) -> Result<Report, Vec<Finding>> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let Some(linux) = probe(soc, ov, &mut out) else {
        return Err(out);
    };
    let mu = soc.mu_label();

    let layout = match fw.layout() {
        Ok(Some(l)) => Some(l),
        Ok(None) => {
            out.push(finding(
                None,
                "mcore-rs",
                format!(
                    "no {} record: not an mcore-rs RPMsg firmware, so its shared memory and \
                     kick channel are unknown",
                    crate::fw::LAYOUT_SYMBOL
                ),
            ));
            None
        }
        Err(e) => {
            out.push(finding(None, "mcore-rs", e));
            None
        }
    };

    // 3. Boot address.
    boot(soc, fw, &mut out, &mut notes);

    // 4. Resource table.
    let table = match fw.find_table() {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            out.push(finding(
                Some("No resource table in elf".into()),
                "imx_rproc_parse_fw()",
                "no .resource_table section: Linux starts the M-core without a vdev".into(),
            ));
            None
        }
        Err(msg) => {
            out.push(finding(
                Some("No resource table in elf".into()),
                "imx_rproc_parse_fw()",
                format!("find_table(): \"{msg}\": Linux starts the M-core without a vdev"),
            ));
            None
        }
    };
    let vdev = table.and_then(|(_, t)| match RpmsgVdev::find(t) {
        Ok(v) => Some(v),
        Err(e) => {
            let (k, source, detail) = rsc_words(&e, t);
            out.push(finding(k, source, detail));
            None
        }
    });

    // 5. Segments.
    for p in fw.loads() {
        if p.filesz > p.memsz {
            out.push(finding(
                Some(format!(
                    "bad phdr filesz {:#x} memsz {:#x}",
                    p.filesz, p.memsz
                )),
                "rproc_elf_load_segments()",
                format!("PT_LOAD {}", p.index),
            ));
            break;
        }
        if p.offset + p.filesz > fw.bytes.len() as u64 {
            out.push(finding(
                Some(format!(
                    "truncated fw: need {:#x} avail {:#x}",
                    p.offset + p.filesz,
                    fw.bytes.len()
                )),
                "rproc_elf_load_segments()",
                format!("PT_LOAD {}", p.index),
            ));
            break;
        }
        let (end, memsz) = (p.paddr + p.memsz, p.memsz);
        match linux.da_to_va(p.paddr, memsz) {
            (Some(Va::Mem { att, sys, mem }), _) => notes.push(format!(
                "PT_LOAD {} {:#x}..{end:#x} -> {att} {sys:#x} ({mem})",
                p.index, p.paddr
            )),
            (Some(Va::Carveout { name }), _) => notes.push(format!(
                "PT_LOAD {} {:#x}..{end:#x} -> memory-region {name}",
                p.index, p.paddr
            )),
            (None, warning) => {
                let why = match att::da_to_sys(soc.att(), p.paddr, memsz) {
                    Some((sys, row)) => format!(
                        "the segment is in {} ({sys:#x}), which imx_rproc maps only through a \
                         memory-region (the row has no ATT_OWN), and no memory-region of the \
                         overlay holds {sys:#x}..{:#x}",
                        row.what,
                        sys + memsz
                    ),
                    None => format!(
                        "{}no row of imx_rproc's address table holds {:#x}..{end:#x} (a range \
                         must end strictly inside a row) and no memory-region does",
                        warning.map(|w| format!("\"{w}\": ")).unwrap_or_default(),
                        p.paddr
                    ),
                };
                out.push(finding(
                    Some(format!("bad phdr da {:#x} mem {:#x}", p.paddr, memsz)),
                    "rproc_elf_load_segments(), imx_rproc_da_to_va()",
                    format!("PT_LOAD {}: {why}", p.index),
                ));
                break;
            }
        }
    }

    // 6. The live resource table.
    if let Some((sec, t)) = table {
        let tsz = t.len() as u64;
        match &linux.rsc_table {
            Some(r) => {
                if r.size < tsz {
                    out.push(finding(
                        None,
                        "rproc_start()",
                        format!(
                            "rsc-table holds {:#x} bytes; Linux copies the {tsz}-byte table into it",
                            r.size
                        ),
                    ));
                }
                notes.push(format!(
                    "resource table: Linux copies {tsz} bytes to rsc-table {:#x} before it starts \
                     the M-core and reads it there when it attaches",
                    r.base
                ));
                match layout.and_then(|l| l.rsc) {
                    Some((da, size)) if da == r.base && size <= r.size && tsz <= size => notes
                        .push(format!(
                            "firmware: keeps a live table at {da:#x}, copies its own otherwise"
                        )),
                    Some((da, size)) => out.push(finding(
                        None,
                        "imx_rproc_elf_find_loaded_rsc_table()",
                        format!(
                            "Linux keeps the live table in rsc-table {:#x}..{:#x}; the firmware \
                             keeps it at {da:#x}..{:#x}: it would never see the vring addresses \
                             or the vdev status",
                            r.base,
                            r.base + r.size,
                            da + size
                        ),
                    )),
                    None if layout.is_some() => out.push(finding(
                        None,
                        "imx_rproc_elf_find_loaded_rsc_table()",
                        format!(
                            "Linux keeps the live table in rsc-table {:#x}; the firmware reads \
                             the one in its image at {:#x} (no CONFIG_OPENAMP_COPY_RSC_TABLE): it \
                             would never see the vring addresses or the vdev status",
                            r.base, sec.addr
                        ),
                    )),
                    None => {}
                }
            }
            None => {
                match linux.da_to_va(sec.addr, sec.size) {
                    (Some(_), _) => {
                        if let Some((da, _)) = layout.and_then(|l| l.rsc) {
                            if da != sec.addr {
                                out.push(finding(
                                    None,
                                    "rproc_elf_find_loaded_rsc_table()",
                                    format!(
                                        "Linux writes the live table where it loaded \
                                         .resource_table ({:#x}); the firmware keeps its own at \
                                         {da:#x}",
                                        sec.addr
                                    ),
                                ));
                            }
                        }
                    }
                    (None, warning) => out.push(finding(
                        warning,
                        "rproc_elf_find_loaded_rsc_table()",
                        format!(
                            ".resource_table at {:#x} is in no memory Linux maps: Linux keeps its \
                             private copy, and the firmware never sees the vring addresses or the \
                             vdev status",
                            sec.addr
                        ),
                    )),
                }
                out.push(finding(
                    None,
                    "imx_rproc_get_loaded_rsc_table()",
                    "the overlay has no rsc-table memory-region: a Linux that restarts and \
                     attaches to the running M-core finds no resource table and creates no vdev"
                        .into(),
                ));
            }
        }
    }

    // 7. Vrings, 8. buffers.
    if let Some(v) = &vdev {
        for (i, vr) in v.vrings.iter().enumerate() {
            let (num, align) = (u64::from(vr.num.get()), u64::from(vr.align.get()));
            let bytes = vring_size(num, align);
            let size = page_align(bytes);
            let name = format!("vdev0vring{i}");
            let Some(c) = linux.carveouts.iter().find(|c| c.name == name) else {
                out.push(finding(
                    None,
                    "rproc_alloc_vring()",
                    format!(
                        "no {name} memory-region: Linux allocates vring {i} ({size:#x} bytes) \
                         from its DMA pool, outside the firmware's shared memory"
                    ),
                ));
                continue;
            };
            if size > c.len {
                out.push(finding(
                    Some("Registered carveout doesn't fit len request".into()),
                    "rproc_check_carveout_da()",
                    format!(
                        "vring {i}: PAGE_ALIGN(vring_size({num}, {align})) = {size:#x} bytes; \
                         {name} holds {:#x}",
                        c.len
                    ),
                ));
                continue;
            }
            let da = u64::from(vr.da.get());
            if vr.da.get() != FW_RSC_ADDR_ANY {
                if da < c.da {
                    out.push(finding(
                        Some("Registered carveout doesn't fit da request".into()),
                        "rproc_check_carveout_da()",
                        format!(
                            "vring {i} asks for da {da:#x}; {name} starts at {:#x}",
                            c.da
                        ),
                    ));
                    continue;
                }
                if da - c.da + size > c.len {
                    out.push(finding(
                        Some("Registered carveout doesn't fit len request".into()),
                        "rproc_check_carveout_da()",
                        format!("vring {i} at {da:#x} + {size:#x} passes the end of {name}"),
                    ));
                    continue;
                }
            }
            match layout {
                Some(l) if !in_shm(&l, c.da, bytes) => out.push(finding(
                    None,
                    "rp_find_vq()",
                    format!(
                        "Linux puts vring {i} at {name} {:#x}..{:#x}, outside the firmware's \
                         shared memory {:#x}..{:#x}",
                        c.da,
                        c.da + bytes,
                        l.shm_da,
                        l.shm_da + l.shm_size
                    ),
                )),
                _ => notes.push(format!(
                    "vring {i}: {name} {:#x}, {bytes} bytes used (num {num}, align {align}) of {:#x}",
                    c.da, c.len
                )),
            }
        }
        let num = u64::from(v.vrings[0].num.get());
        let bufs = if num < MAX_RPMSG_NUM_BUFS / 2 {
            num * 2
        } else {
            MAX_RPMSG_NUM_BUFS
        };
        let total = bufs * RPMSG_BUF_SIZE;
        let need = dma_pool_footprint(total);
        match linux.regions.first() {
            None => out.push(finding(
                None,
                "rproc_add_virtio_dev()",
                "no memory-region: the vdev's buffers come from Linux's default DMA pool, \
                 outside the firmware's shared memory"
                    .into(),
            )),
            Some(r0) if !r0.dma_pool => out.push(finding(
                None,
                "rproc_add_virtio_dev(), of_reserved_mem_device_init_by_idx(0)",
                format!(
                    "memory-region 0 ({}) has no compatible = \"shared-dma-pool\": Linux takes the \
                     RPMsg buffers from its default DMA pool, outside the firmware's shared memory",
                    r0.full_name
                ),
            )),
            Some(r0) if soc.linux_is_arm32() && !r0.no_map => out.push(finding(
                Some("Reserved memory: regions without no-map are not yet supported".into()),
                "rmem_dma_setup()",
                format!("{} is a shared-dma-pool without no-map", r0.full_name),
            )),
            Some(r0) if need > r0.size => out.push(finding(
                Some("probe with driver virtio_rpmsg_bus failed with error -12".into()),
                "rpmsg_probe()",
                format!(
                    "dma_alloc_coherent() of {total:#x} bytes ({bufs} x 512) takes {need:#x} of \
                     the pool; {} holds {:#x}",
                    r0.full_name, r0.size
                ),
            )),
            Some(r0) => match layout {
                Some(l) if !in_shm(&l, r0.base, need) => out.push(finding(
                    None,
                    "rpmsg_probe()",
                    format!(
                        "Linux hands out RPMsg buffers from {} {:#x}..{:#x}, outside the \
                         firmware's shared memory {:#x}..{:#x}",
                        r0.full_name,
                        r0.base,
                        r0.base + need,
                        l.shm_da,
                        l.shm_da + l.shm_size
                    ),
                )),
                _ => notes.push(format!(
                    "buffers: {} x 512 bytes from {} {:#x} (memory-region 0, {:#x} bytes)",
                    bufs, r0.full_name, r0.base, r0.size
                )),
            },
        }
    }

    // 9. Kicks.
    if let (Some((_, idx)), Some(l)) = (linux.rx, layout) {
        if l.kick_channel != idx {
            out.push(finding(
                None,
                "imx_mu_startup()",
                format!(
                    "the firmware kicks MU register {} (CONFIG_MCORE_RS_KICK_CHANNEL) but Linux's \
                     \"rx\" channel <&{mu} 1 {idx}> enables the receive interrupt of register \
                     {idx} only: Linux never hears the firmware, and the name-service \
                     announcements and every message to Linux go unnoticed",
                    l.kick_channel
                ),
            ));
        } else {
            notes.push(format!(
                "kicks: firmware -> MU register {idx} = Linux \"rx\" <&{mu} 1 {idx}>"
            ));
        }
    }

    if out.is_empty() {
        Ok(Report { notes })
    } else {
        Err(out)
    }
}

/// Step 3: where the M-core starts.
fn boot(soc: Soc, fw: &Firmware, out: &mut Vec<Finding>, notes: &mut Vec<String>) {
    let Some((vt, _)) = fw.symbol("_vector_table") else {
        notes.push("boot: no _vector_table symbol, boot address not checked".into());
        return;
    };
    let loaded = fw
        .loads()
        .any(|p| vt >= p.paddr && vt + 8 <= p.paddr + p.filesz);
    match soc {
        Soc::Imx95M7 => {
            let (boot, how) = match fw.section(".interrupts") {
                Some(s) => (s.addr, "sh_addr of .interrupts"),
                None => (0, "no .interrupts section: 0"),
            };
            if boot != vt || !loaded {
                out.push(finding(
                    None,
                    "imx_rproc_get_boot_addr() (NXP lf-6.12), imx_rproc_sm_cpu_start() (mainline: 0)",
                    format!(
                        "Linux sets the M7's reset vector to {boot:#x} ({how}), but the vector \
                         table is at {vt:#x}{}",
                        if loaded { "" } else { " and in no PT_LOAD" }
                    ),
                ));
            } else {
                notes.push(format!(
                    "boot: reset vector {boot:#x} ({how}) = the vector table"
                ));
            }
        }
        Soc::Imx7dM4 => {
            if vt != 0 || !loaded {
                out.push(finding(
                    None,
                    "imx_rproc_mmio_start()",
                    format!(
                        "releasing the M4 from reset makes it fetch its stack pointer and reset \
                         vector at its address 0x0 (OCRAM_S), but the vector table is at {vt:#x}{}",
                        if loaded { "" } else { " and in no PT_LOAD" }
                    ),
                ));
            } else {
                notes.push("boot: the vector table is at the M4's address 0x0 (OCRAM_S)".into());
            }
        }
    }
}
