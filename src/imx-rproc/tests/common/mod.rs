//! Test firmware images: small hand-made ELF32 files with the program headers, sections and
//! symbols Linux remoteproc and `check-elf --board` look at, shaped like the real Zephyr
//! builds of each board.

#![allow(dead_code)]

use std::process::Command;

use rpmsg_proto::rsc::zephyr_table;

/// One `PT_LOAD`: physical address, bytes in the file, bytes in memory.
#[derive(Clone, Copy)]
pub struct Seg {
    pub paddr: u32,
    pub filesz: u32,
    pub memsz: u32,
}

/// One section with contents.
#[derive(Clone)]
pub struct Sec {
    pub name: &'static str,
    pub addr: u32,
    pub data: Vec<u8>,
}

/// The pieces of a firmware ELF.
#[derive(Clone)]
pub struct Image {
    pub segs: Vec<Seg>,
    pub secs: Vec<Sec>,
    /// name, value, size.
    pub syms: Vec<(&'static str, u32, u32)>,
    pub big_endian: bool,
}

fn push32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn push16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

impl Image {
    /// Writes an ELF32 little-endian ARM executable: header, program headers, segment
    /// filler, section contents, symbol table, string tables, section headers.
    pub fn build(&self) -> Vec<u8> {
        let phoff = 52u32;
        let mut data = Vec::new();
        let data_base = phoff + 32 * self.segs.len() as u32;
        let mut seg_off = Vec::new();
        for s in &self.segs {
            seg_off.push(data_base + data.len() as u32);
            data.extend(std::iter::repeat_n(0xa5u8, s.filesz as usize));
        }
        // Sections: user ones, then .symtab, .strtab, .shstrtab.
        let mut shstr = vec![0u8];
        let name_off = |shstr: &mut Vec<u8>, n: &str| {
            let o = shstr.len() as u32;
            shstr.extend_from_slice(n.as_bytes());
            shstr.push(0);
            o
        };
        let mut shdrs: Vec<[u32; 10]> = vec![[0; 10]];
        for s in &self.secs {
            let off = data_base + data.len() as u32;
            data.extend_from_slice(&s.data);
            let n = name_off(&mut shstr, s.name);
            // name type flags addr offset size link info align entsize
            shdrs.push([n, 1, 2, s.addr, off, s.data.len() as u32, 0, 0, 4, 0]);
        }
        let mut strtab = vec![0u8];
        let mut symtab = vec![0u8; 16];
        for (name, value, size) in &self.syms {
            let o = strtab.len() as u32;
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
            push32(&mut symtab, o);
            push32(&mut symtab, *value);
            push32(&mut symtab, *size);
            symtab.push(0x11); // STB_GLOBAL, STT_OBJECT
            symtab.push(0);
            push16(&mut symtab, 1); // section 1: not SHN_UNDEF
        }
        let strtab_idx = shdrs.len() as u32 + 1;
        let off = data_base + data.len() as u32;
        data.extend_from_slice(&symtab);
        let n = name_off(&mut shstr, ".symtab");
        shdrs.push([n, 2, 0, 0, off, symtab.len() as u32, strtab_idx, 1, 4, 16]);
        let off = data_base + data.len() as u32;
        data.extend_from_slice(&strtab);
        let n = name_off(&mut shstr, ".strtab");
        shdrs.push([n, 3, 0, 0, off, strtab.len() as u32, 0, 0, 1, 0]);
        let n = name_off(&mut shstr, ".shstrtab");
        let off = data_base + data.len() as u32;
        shdrs.push([n, 3, 0, 0, off, 0, 0, 0, 1, 0]);
        let last = shdrs.len() - 1;
        shdrs[last][5] = shstr.len() as u32;
        data.extend_from_slice(&shstr);
        while data.len() % 4 != 0 {
            data.push(0);
        }
        let shoff = data_base + data.len() as u32;

        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF");
        f.push(1); // ELFCLASS32
        f.push(if self.big_endian { 2 } else { 1 });
        f.push(1);
        f.extend_from_slice(&[0; 9]);
        push16(&mut f, 2); // ET_EXEC
        push16(&mut f, 40); // EM_ARM
        push32(&mut f, 1);
        push32(&mut f, 0x101); // e_entry
        push32(&mut f, phoff);
        push32(&mut f, shoff);
        push32(&mut f, 0x0500_0200);
        push16(&mut f, 52);
        push16(&mut f, 32);
        push16(&mut f, self.segs.len() as u16);
        push16(&mut f, 40);
        push16(&mut f, shdrs.len() as u16);
        push16(&mut f, (shdrs.len() - 1) as u16);
        for (s, off) in self.segs.iter().zip(&seg_off) {
            for x in [1, *off, s.paddr, s.paddr, s.filesz, s.memsz, 7, 4] {
                push32(&mut f, x);
            }
        }
        f.extend_from_slice(&data);
        for h in shdrs {
            for x in h {
                push32(&mut f, x);
            }
        }
        f
    }
}

/// The mcore-rs layout record as `src/shim/mcore_linux_shim.c` writes it.
pub fn layout(shm: (u64, u64), rsc: Option<(u64, u64)>, kick: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"MCRL");
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&shm.0.to_le_bytes());
    v.extend_from_slice(&shm.1.to_le_bytes());
    let (da, size) = rsc.unwrap_or((0, 0));
    v.extend_from_slice(&da.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(&kick.to_le_bytes());
    v.extend_from_slice(&u32::from(rsc.is_some()).to_le_bytes());
    v
}

pub const LAYOUT_ADDR_95: u32 = 0x8000;
pub const LAYOUT_ADDR_7D: u32 = 0x90_8000;

/// An echo build for the i.MX 95 M7 as Zephyr links it: code and data in ITCM from 0,
/// .bss in DTCM, the table inside the ITCM segment, the vector table at 0.
pub fn imx95() -> Image {
    Image {
        segs: vec![
            Seg {
                paddr: 0,
                filesz: 0x9000,
                memsz: 0x9000,
            },
            Seg {
                paddr: 0x2000_0000,
                filesz: 0,
                memsz: 0x3000,
            },
        ],
        secs: vec![
            Sec {
                name: ".resource_table",
                addr: 0x8f00,
                data: zephyr_table(16).to_vec(),
            },
            Sec {
                name: "rodata",
                addr: LAYOUT_ADDR_95,
                data: layout((0x8800_0000, 0x50_0000), Some((0x8822_0000, 0x1000)), 1),
            },
        ],
        syms: vec![
            ("_vector_table", 0, 0x140),
            ("mcore_rs_linux_layout", LAYOUT_ADDR_95, 48),
        ],
        big_endian: false,
    }
}

/// An echo build for the i.MX 7D M4 (the Colibri build's layout): vector table at 0
/// (OCRAM_S), code in OCRAM, .data's load image after it, .bss in TCMU.
pub fn imx7d() -> Image {
    Image {
        segs: vec![
            Seg {
                paddr: 0,
                filesz: 0x23c,
                memsz: 0x23c,
            },
            Seg {
                paddr: 0x90_0000,
                filesz: 0x91dc,
                memsz: 0x91dc,
            },
            Seg {
                paddr: 0x90_91dc,
                filesz: 0x64,
                memsz: 0x64,
            },
            Seg {
                paddr: 0x90_9240,
                filesz: 0x5c,
                memsz: 0x5c,
            },
            Seg {
                paddr: 0x2000_0068,
                filesz: 0,
                memsz: 0x2518,
            },
        ],
        secs: vec![
            Sec {
                name: ".resource_table",
                addr: 0x90_9244,
                data: zephyr_table(16).to_vec(),
            },
            Sec {
                name: "rodata",
                addr: LAYOUT_ADDR_7D,
                data: layout((0x9000_0000, 0x50_0000), Some((0x9022_0000, 0x1000)), 1),
            },
        ],
        syms: vec![
            ("_vector_table", 0, 0x40),
            ("mcore_rs_linux_layout", LAYOUT_ADDR_7D, 48),
        ],
        big_endian: false,
    }
}

/// Writes `bytes` to a fresh temporary file and returns it.
pub fn write_temp(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    f
}

/// `true` when dtc runs. Tests that compile overlays print why they skip without it; the
/// project's test command requires dtc separately (scripts/test.sh), so CI never skips.
pub fn have_dtc() -> bool {
    let ok = Command::new("dtc").arg("--version").output().is_ok();
    if !ok {
        eprintln!("dtc not found: skipping (install device-tree-compiler)");
    }
    ok
}
