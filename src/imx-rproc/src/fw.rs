//! The firmware ELF as Linux remoteproc reads it (`remoteproc_elf_loader.c`): the header
//! checks of `rproc_elf_sanity_check()`, the program headers `rproc_elf_load_segments()`
//! loads, the `.resource_table` section `find_table()` accepts, and the sections and symbols
//! the boot address comes from, plus the mcore-rs layout record ([`Layout`]).

use object::{Object, ObjectSection, ObjectSymbol};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// ELF program header type of a loadable segment.
pub const PT_LOAD: u32 = 1;

/// Name of the mcore-rs layout record in the firmware's symbol table
/// (`src/shim/mcore_linux_shim.c`).
pub const LAYOUT_SYMBOL: &str = "mcore_rs_linux_layout";
/// `"MCRL"` little-endian: the first word of the layout record.
pub const LAYOUT_MAGIC: u32 = u32::from_le_bytes(*b"MCRL");
/// Layout record bit: the firmware copies its resource table to `rsc_da` unless a live table
/// is there already (`CONFIG_OPENAMP_COPY_RSC_TABLE`).
pub const LAYOUT_RSC_COPIED: u32 = 1;

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phdr {
    /// Index in the program header table.
    pub index: usize,
    /// `p_type`.
    pub p_type: u32,
    /// `p_offset`: file offset of the contents.
    pub offset: u64,
    /// `p_paddr`: where Linux loads it (remoteproc uses the physical address).
    pub paddr: u64,
    /// `p_filesz` in bytes.
    pub filesz: u64,
    /// `p_memsz` in bytes.
    pub memsz: u64,
}

/// One section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name from the section header string table.
    pub name: String,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size` in bytes.
    pub size: u64,
    /// `SHT_NOBITS`: no contents in the file.
    pub nobits: bool,
}

/// The record an mcore-rs firmware keeps in `mcore_rs_linux_layout`: what the firmware
/// assumes about the Linux side, from its devicetree and Kconfig. All little-endian.
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RawLayout {
    /// [`LAYOUT_MAGIC`].
    pub magic: U32,
    /// 1.
    pub version: U32,
    /// Device (Linux physical) address of the shared memory (`zephyr,ipc_shm`).
    pub shm_da: U64,
    /// Size of the shared memory in bytes.
    pub shm_size: U64,
    /// Address of `zephyr,ipc_rsc_table`, 0 without a copy.
    pub rsc_da: U64,
    /// Size of that region in bytes, 0 without a copy.
    pub rsc_size: U64,
    /// MU register index the firmware kicks Linux on (`CONFIG_MCORE_RS_KICK_CHANNEL`).
    pub kick_channel: U32,
    /// [`LAYOUT_RSC_COPIED`].
    pub flags: U32,
}

/// The decoded layout record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Device address of the firmware's shared memory window.
    pub shm_da: u64,
    /// Its size in bytes.
    pub shm_size: u64,
    /// Where the firmware keeps its live resource table, when it copies it.
    pub rsc: Option<(u64, u64)>,
    /// MU register index of the firmware's kicks.
    pub kick_channel: u32,
}

/// A firmware image.
#[derive(Debug, Clone)]
pub struct Firmware {
    /// The file.
    pub bytes: Vec<u8>,
    /// ELFCLASS64.
    pub class64: bool,
    /// `e_entry`.
    pub entry: u64,
    /// Program headers, every type.
    pub phdrs: Vec<Phdr>,
    /// Section headers.
    pub sections: Vec<Section>,
    symbols: Vec<(String, u64, u64)>,
}

fn rd(b: &[u8], off: u64, n: usize) -> Option<u64> {
    let off = usize::try_from(off).ok()?;
    let s = b.get(off..off.checked_add(n)?)?;
    Some(match n {
        2 => u64::from(u16::from_le_bytes([s[0], s[1]])),
        4 => u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        _ => u64::from_le_bytes(s.try_into().ok()?),
    })
}

/// `rproc_elf_sanity_check()`: the header checks Linux makes before anything else. The error
/// is the kernel's message.
///
/// # Errors
/// "Image is too small", "Image is corrupted (bad magic)", "Unsupported class: N",
/// "elf64 header is too small", "Unsupported firmware endianness", "No loadable segments",
/// "Firmware size is too small".
pub fn sanity_check(b: &[u8]) -> Result<(), String> {
    if b.len() < 52 {
        return Err("Image is too small".into());
    }
    if &b[..4] != b"\x7fELF" {
        return Err("Image is corrupted (bad magic)".into());
    }
    let class = b[4];
    if class != 1 && class != 2 {
        return Err(format!("Unsupported class: {class}"));
    }
    if class == 2 && b.len() < 64 {
        return Err("elf64 header is too small".into());
    }
    // i.MX Linux is little-endian: the firmware must be too.
    if b[5] != 1 {
        return Err("Unsupported firmware endianness".into());
    }
    let (phoff, shoff, phnum, shsize) = if class == 1 {
        (rd(b, 28, 4), rd(b, 32, 4), rd(b, 44, 2), 40)
    } else {
        (rd(b, 32, 8), rd(b, 40, 8), rd(b, 56, 2), 64)
    };
    let (phoff, shoff, phnum) = (phoff.unwrap_or(0), shoff.unwrap_or(0), phnum.unwrap_or(0));
    if (b.len() as u64) < shoff.saturating_add(shsize) {
        return Err("Image is too small".into());
    }
    if phnum == 0 {
        return Err("No loadable segments".into());
    }
    if phoff > b.len() as u64 {
        return Err("Firmware size is too small".into());
    }
    Ok(())
}

impl Firmware {
    /// Reads an ELF that passed [`sanity_check`].
    ///
    /// # Errors
    /// The [`sanity_check`] message, or why the section headers could not be read.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, String> {
        sanity_check(&bytes)?;
        let class64 = bytes[4] == 2;
        let (entry, phoff, phentsize, phnum) = if class64 {
            (
                rd(&bytes, 24, 8),
                rd(&bytes, 32, 8),
                rd(&bytes, 54, 2),
                rd(&bytes, 56, 2),
            )
        } else {
            (
                rd(&bytes, 24, 4),
                rd(&bytes, 28, 4),
                rd(&bytes, 42, 2),
                rd(&bytes, 44, 2),
            )
        };
        let (entry, phoff) = (entry.unwrap_or(0), phoff.unwrap_or(0));
        let (phentsize, phnum) = (phentsize.unwrap_or(0), phnum.unwrap_or(0));
        let mut phdrs = Vec::new();
        for i in 0..phnum {
            let h = phoff + i * phentsize;
            let field = |o32: u64, o64: u64| {
                if class64 {
                    rd(&bytes, h + o64, 8)
                } else {
                    rd(&bytes, h + o32, 4)
                }
            };
            let p = (|| {
                Some(Phdr {
                    index: i as usize,
                    p_type: rd(&bytes, h, 4)? as u32,
                    offset: field(4, 8)?,
                    paddr: field(12, 24)?,
                    filesz: field(16, 32)?,
                    memsz: field(20, 40)?,
                })
            })()
            .ok_or_else(|| format!("program header {i} lies outside the file"))?;
            phdrs.push(p);
        }
        let file = object::File::parse(bytes.as_slice())
            .map_err(|e| format!("section headers unreadable: {e}"))?;
        let sections = file
            .sections()
            .map(|s| Section {
                name: s.name().unwrap_or("").to_string(),
                addr: s.address(),
                offset: s.file_range().map_or(0, |r| r.0),
                size: s.size(),
                nobits: s.file_range().is_none(),
            })
            .collect();
        let symbols = file
            .symbols()
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address(), s.size())))
            .collect();
        Ok(Self {
            bytes,
            class64,
            entry,
            phdrs,
            sections,
            symbols,
        })
    }

    /// Reads and parses `path`.
    ///
    /// # Errors
    /// The read error or the [`Firmware::parse`] message.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(bytes)
    }

    /// The `PT_LOAD` program headers in file order.
    pub fn loads(&self) -> impl Iterator<Item = &Phdr> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }

    /// The first section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Address and size of symbol `name`.
    pub fn symbol(&self, name: &str) -> Option<(u64, u64)> {
        self.symbols
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|&(_, a, s)| (a, s))
    }

    /// The file bytes of `len` bytes at address `addr`, from the section that holds them.
    pub fn bytes_at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let s = self
            .sections
            .iter()
            .find(|s| !s.nobits && addr >= s.addr && addr + len <= s.addr + s.size)?;
        let start = usize::try_from(s.offset + (addr - s.addr)).ok()?;
        self.bytes.get(start..start + usize::try_from(len).ok()?)
    }

    /// `find_table()`: the first section named `.resource_table`, checked as Linux checks it.
    /// `Ok(None)` when there is none.
    ///
    /// # Errors
    /// "resource table truncated", "header-less resource table", "unsupported fw ver: N",
    /// "non zero reserved bytes", "resource table incomplete".
    pub fn find_table(&self) -> Result<Option<(&Section, &[u8])>, String> {
        let Some(s) = self.section(".resource_table") else {
            return Ok(None);
        };
        let end = s.offset.checked_add(s.size);
        if end.is_none_or(|e| e > self.bytes.len() as u64) || s.nobits {
            return Err("resource table truncated".into());
        }
        let t = &self.bytes[s.offset as usize..(s.offset + s.size) as usize];
        if t.len() < 16 {
            return Err("header-less resource table".into());
        }
        let word = |o: usize| u32::from_le_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
        if word(0) != 1 {
            return Err(format!("unsupported fw ver: {}", word(0)));
        }
        if word(8) != 0 || word(12) != 0 {
            return Err("non zero reserved bytes".into());
        }
        if 16 + 4 * u64::from(word(4)) > t.len() as u64 {
            return Err("resource table incomplete".into());
        }
        Ok(Some((s, t)))
    }

    /// The mcore-rs layout record, `Ok(None)` when the ELF has no such symbol.
    ///
    /// # Errors
    /// A record that is truncated, has no contents in the file, or has the wrong magic or
    /// version.
    pub fn layout(&self) -> Result<Option<Layout>, String> {
        let Some((addr, _)) = self.symbol(LAYOUT_SYMBOL) else {
            return Ok(None);
        };
        let n = std::mem::size_of::<RawLayout>() as u64;
        let raw = self
            .bytes_at(addr, n)
            .and_then(|b| RawLayout::read_from_bytes(b).ok())
            .ok_or_else(|| format!("{LAYOUT_SYMBOL} at {addr:#x} has no {n} bytes in the file"))?;
        if raw.magic.get() != LAYOUT_MAGIC || raw.version.get() != 1 {
            return Err(format!(
                "{LAYOUT_SYMBOL} at {addr:#x}: magic {:#x} version {}, expected {LAYOUT_MAGIC:#x} version 1",
                raw.magic.get(),
                raw.version.get()
            ));
        }
        Ok(Some(Layout {
            shm_da: raw.shm_da.get(),
            shm_size: raw.shm_size.get(),
            rsc: (raw.flags.get() & LAYOUT_RSC_COPIED != 0)
                .then(|| (raw.rsc_da.get(), raw.rsc_size.get())),
            kick_channel: raw.kick_channel.get(),
        }))
    }
}
