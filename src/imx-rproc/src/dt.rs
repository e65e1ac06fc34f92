//! A Linux devicetree overlay as `dtc -@` compiles it (`.dtbo`): the nodes each fragment adds
//! or changes, their properties, the phandles between them and the labels of the base
//! devicetree they refer to (`__fixups__`).
//!
//! The blob is read with the [`fdt`] crate. Overlay sources (`.dtso`) are compiled with the
//! `dtc` program ([`compile_file`], [`compile_source`]), which must be on `PATH`
//! (Debian/Ubuntu: `device-tree-compiler`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The flags every overlay of this project is compiled with: `-@` for the symbols an overlay
/// needs, and the one warning the kernel's own dtbs build turns off
/// (`-Wno-avoid_unnecessary_addr_size`, scripts/Makefile.dtbs).
pub const DTC_FLAGS: [&str; 2] = ["-@", "-Wno-avoid_unnecessary_addr_size"];

/// Why an overlay could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DtError {
    /// `dtc` is not installed.
    #[error(
        "dtc not found on PATH: install the device tree compiler (Debian: device-tree-compiler)"
    )]
    DtcMissing,
    /// `dtc` failed.
    #[error("dtc failed on {file}:\n{stderr}")]
    Dtc {
        /// The source file.
        file: String,
        /// What dtc printed.
        stderr: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not a flattened devicetree.
    #[error("not a devicetree blob: {0}")]
    NotFdt(String),
    /// A devicetree without overlay fragments.
    #[error("no overlay fragments (fragment@N with __overlay__): compile the overlay with dtc -@ from a source with /plugin/")]
    NotOverlay,
    /// A fragment without `target-path`, or a `target` phandle with no `__fixups__` entry.
    #[error("fragment {0} has no target-path and no target label in __fixups__")]
    NoTarget(String),
    /// A malformed `__fixups__` entry.
    #[error("malformed __fixups__ entry '{0}'")]
    BadFixup(String),
}

/// Where a fragment applies in the base devicetree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `target-path`, e.g. `/` or `/reserved-memory` (`&{/reserved-memory}` in the source).
    Path(String),
    /// `target = <&label>`: a labelled node of the base devicetree.
    Label(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Path(p) => write!(f, "{p}"),
            Target::Label(l) => write!(f, "&{l}"),
        }
    }
}

/// One node an overlay adds to or changes in the base devicetree.
#[derive(Debug, Clone)]
pub struct DtNode {
    /// The fragment's target.
    pub target: Target,
    /// Path below the target: empty for the target itself, else e.g.
    /// `reserved-memory/vdev0vring0@88000000`.
    pub rel: String,
    /// Properties in blob order: name, raw big-endian value.
    pub props: Vec<(String, Vec<u8>)>,
    /// The node's phandle inside the overlay, if anything refers to it.
    pub phandle: Option<u32>,
    /// The node's path inside the overlay blob (`/fragment@0/__overlay__/...`), as
    /// `__fixups__` names it.
    pub blob_path: String,
}

impl DtNode {
    /// Raw value of property `name`.
    pub fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Property `name` as big-endian 32-bit cells, or `None` when absent or not a whole
    /// number of cells.
    pub fn prop_u32s(&self, name: &str) -> Option<Vec<u32>> {
        let v = self.prop(name)?;
        (v.len() % 4 == 0).then(|| {
            v.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
    }

    /// Property `name` as one cell.
    pub fn prop_u32(&self, name: &str) -> Option<u32> {
        match self.prop_u32s(name)?.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }

    /// Property `name` as a string list (NUL-separated).
    pub fn prop_strings(&self, name: &str) -> Option<Vec<String>> {
        let v = self.prop(name)?;
        let v = v.strip_suffix(&[0]).unwrap_or(v);
        Some(
            v.split(|b| *b == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        )
    }

    /// `true` without a `status` property or with `"okay"`/`"ok"` (`of_device_is_available()`).
    pub fn is_available(&self) -> bool {
        match self.prop_strings("status") {
            None => true,
            Some(s) => matches!(s.first().map(String::as_str), Some("okay" | "ok")),
        }
    }

    /// The node's name with its unit address, e.g. `vdev0vring0@88000000`.
    pub fn full_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or("")
    }

    /// The node's name as Linux's `node->name` has it: without the unit address
    /// (`vdev0vring0`, `rsc-table`).
    pub fn name(&self) -> &str {
        let full = self.full_name();
        full.split('@').next().unwrap_or(full)
    }

    /// Absolute path in the base devicetree, for nodes under a `target-path`.
    pub fn path(&self) -> Option<String> {
        match &self.target {
            Target::Path(p) if self.rel.is_empty() => Some(p.clone()),
            Target::Path(p) if p == "/" => Some(format!("/{}", self.rel)),
            Target::Path(p) => Some(format!("{p}/{}", self.rel)),
            Target::Label(_) => None,
        }
    }
}

/// What a phandle cell of an overlay property refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhandleRef {
    /// A node of the overlay itself (index into [`Overlay::nodes`]).
    Local(usize),
    /// A labelled node of the base devicetree (`__fixups__`).
    Label(String),
    /// A phandle value nothing resolves.
    Unresolved(u32),
}

/// A compiled overlay.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Every node of every fragment, in blob order.
    pub nodes: Vec<DtNode>,
    /// `(blob path, property, byte offset)` → base label, from `__fixups__`.
    fixups: HashMap<(String, String, usize), String>,
}

fn walk(
    node: fdt::node::FdtNode<'_, '_>,
    target: &Target,
    rel: &str,
    blob: &str,
    out: &mut Vec<DtNode>,
) {
    let props: Vec<(String, Vec<u8>)> = node
        .properties()
        .map(|p| (p.name.to_string(), p.value.to_vec()))
        .collect();
    let phandle = props
        .iter()
        .find(|(n, v)| n == "phandle" && v.len() == 4)
        .map(|(_, v)| u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
    out.push(DtNode {
        target: target.clone(),
        rel: rel.to_string(),
        props,
        phandle,
        blob_path: blob.to_string(),
    });
    for child in node.children() {
        let child_rel = if rel.is_empty() {
            child.name.to_string()
        } else {
            format!("{rel}/{}", child.name)
        };
        let child_blob = format!("{blob}/{}", child.name);
        walk(child, target, &child_rel, &child_blob, out);
    }
}

impl Overlay {
    /// Reads a `.dtbo` blob.
    ///
    /// # Errors
    /// [`DtError::NotFdt`], [`DtError::NotOverlay`], [`DtError::NoTarget`],
    /// [`DtError::BadFixup`].
    pub fn parse(dtbo: &[u8]) -> Result<Self, DtError> {
        let fdt = fdt::Fdt::new(dtbo).map_err(|e| DtError::NotFdt(format!("{e:?}")))?;
        let root = fdt
            .find_node("/")
            .ok_or_else(|| DtError::NotFdt("no root node".into()))?;

        let mut fixups = HashMap::new();
        if let Some(fx) = fdt.find_node("/__fixups__") {
            for p in fx.properties() {
                for entry in p.value.split(|b| *b == 0).filter(|s| !s.is_empty()) {
                    let s = String::from_utf8_lossy(entry).into_owned();
                    let mut parts = s.rsplitn(3, ':');
                    let (Some(off), Some(prop), Some(path)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(DtError::BadFixup(s));
                    };
                    let off: usize = off.parse().map_err(|_| DtError::BadFixup(s.clone()))?;
                    fixups.insert(
                        (path.to_string(), prop.to_string(), off),
                        p.name.to_string(),
                    );
                }
            }
        }

        let mut nodes = Vec::new();
        let mut fragments = 0;
        for frag in root.children() {
            let Some(ov) = frag.children().find(|c| c.name == "__overlay__") else {
                continue;
            };
            fragments += 1;
            let frag_path = format!("/{}", frag.name);
            let target = if let Some(tp) = frag.property("target-path") {
                let v = tp.value.strip_suffix(&[0]).unwrap_or(tp.value);
                Target::Path(String::from_utf8_lossy(v).into_owned())
            } else if let Some(label) = fixups.get(&(frag_path.clone(), "target".to_string(), 0)) {
                Target::Label(label.clone())
            } else {
                return Err(DtError::NoTarget(frag.name.to_string()));
            };
            walk(
                ov,
                &target,
                "",
                &format!("{frag_path}/__overlay__"),
                &mut nodes,
            );
        }
        if fragments == 0 {
            return Err(DtError::NotOverlay);
        }
        Ok(Self { nodes, fixups })
    }

    /// Reads an overlay file: a `.dtbo` blob, or a source that is compiled with `dtc` first.
    ///
    /// # Errors
    /// [`DtError::Io`] and everything [`compile_file`] and [`Overlay::parse`] return.
    pub fn load(path: &Path) -> Result<Self, DtError> {
        let bytes = std::fs::read(path).map_err(|source| DtError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if bytes.starts_with(&[0xd0, 0x0d, 0xfe, 0xed]) {
            Self::parse(&bytes)
        } else {
            Self::parse(&compile_file(path)?.dtbo)
        }
    }

    /// Indices of the nodes whose `compatible` list contains `compatible`.
    pub fn with_compatible(&self, compatible: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i]
                    .prop_strings("compatible")
                    .is_some_and(|c| c.iter().any(|s| s == compatible))
            })
            .collect()
    }

    /// The node at absolute base path `path`, for nodes under a `target-path` fragment.
    pub fn by_path(&self, path: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.nodes[i].path().as_deref() == Some(path))
    }

    /// What the phandle cell at byte `offset` of property `prop` of node `node` refers to.
    pub fn phandle_at(&self, node: usize, prop: &str, offset: usize) -> PhandleRef {
        let n = &self.nodes[node];
        let key = (n.blob_path.clone(), prop.to_string(), offset);
        if let Some(label) = self.fixups.get(&key) {
            return PhandleRef::Label(label.clone());
        }
        let value = n
            .prop(prop)
            .and_then(|v| v.get(offset..offset + 4))
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .unwrap_or(0);
        match (0..self.nodes.len()).find(|&i| self.nodes[i].phandle == Some(value)) {
            Some(i) => PhandleRef::Local(i),
            None => PhandleRef::Unresolved(value),
        }
    }

    /// `true` when a fragment targets base label `label` and sets its status to `"okay"`.
    pub fn enables_label(&self, label: &str) -> bool {
        self.nodes.iter().any(|n| {
            n.rel.is_empty()
                && n.target == Target::Label(label.to_string())
                && n.prop("status").is_some()
                && n.is_available()
        })
    }
}

/// A compiled overlay and what `dtc` warned about.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The `.dtbo` blob.
    pub dtbo: Vec<u8>,
    /// `dtc`'s standard error (warnings); empty when clean.
    pub warnings: String,
}

fn run_dtc(dir: &Path, file: &Path) -> Result<Compiled, DtError> {
    let out = dir.join("out.dtbo");
    let res = Command::new("dtc")
        .args(DTC_FLAGS)
        .args(["-I", "dts", "-O", "dtb", "-o"])
        .arg(&out)
        .arg(file)
        .output();
    let res = match res {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(DtError::DtcMissing),
        Err(source) => {
            return Err(DtError::Io {
                path: "dtc".into(),
                source,
            })
        }
    };
    let stderr = String::from_utf8_lossy(&res.stderr).into_owned();
    if !res.status.success() {
        return Err(DtError::Dtc {
            file: file.display().to_string(),
            stderr,
        });
    }
    let dtbo = std::fs::read(&out).map_err(|source| DtError::Io {
        path: out.display().to_string(),
        source,
    })?;
    Ok(Compiled {
        dtbo,
        warnings: stderr,
    })
}

fn tempdir() -> Result<tempfile::TempDir, DtError> {
    tempfile::tempdir().map_err(|source| DtError::Io {
        path: std::env::temp_dir().display().to_string(),
        source,
    })
}

/// Compiles overlay source file `path` with `dtc` and [`DTC_FLAGS`]; `/include/`s are found
/// next to it.
///
/// # Errors
/// [`DtError::DtcMissing`], [`DtError::Dtc`] with dtc's messages, [`DtError::Io`].
pub fn compile_file(path: &Path) -> Result<Compiled, DtError> {
    let dir = tempdir()?;
    let abs: PathBuf = path.canonicalize().map_err(|source| DtError::Io {
        path: path.display().to_string(),
        source,
    })?;
    run_dtc(dir.path(), &abs)
}

/// Compiles overlay source text `source` as file `name`, next to the `includes` (file name,
/// text) it may `/include/`.
///
/// # Errors
/// As [`compile_file`].
pub fn compile_source(
    name: &str,
    source: &str,
    includes: &[(&str, &str)],
) -> Result<Compiled, DtError> {
    let dir = tempdir()?;
    for (n, text) in includes.iter().chain([(name, source)].iter()) {
        let p = dir.path().join(n);
        std::fs::write(&p, text).map_err(|source| DtError::Io {
            path: p.display().to_string(),
            source,
        })?;
    }
    run_dtc(dir.path(), &dir.path().join(name))
}
