//! `check-elf --board`: the shipped overlays pass with firmware shaped like the real builds,
//! and firmware and overlays broken on purpose each fail with the kernel's message.

mod common;

use common::{have_dtc, imx7d, imx95, layout, write_temp, Image, Sec, Seg};
use imx_rproc::att::Soc;
use imx_rproc::boards::{self, Board, INCLUDES};
use imx_rproc::check::{check, Finding};
use imx_rproc::dt::{compile_source, Overlay};
use imx_rproc::fw::Firmware;

fn board(name: &str) -> &'static Board {
    boards::find(name).unwrap()
}

/// The board's shipped overlay, with `edit` applied to its text (and to the i.MX 7D dtsi).
fn overlay(b: &Board, edit: impl Fn(String) -> String) -> Overlay {
    let source = edit(b.overlay_source.to_string());
    let dtsi = edit(INCLUDES[0].1.to_string());
    let compiled = compile_source(b.overlay_file, &source, &[(INCLUDES[0].0, &dtsi)])
        .unwrap_or_else(|e| panic!("{e}"));
    Overlay::parse(&compiled.dtbo).unwrap()
}

fn fw(img: &Image) -> Firmware {
    Firmware::parse(img.build()).unwrap()
}

fn run(b: &Board, ov: &Overlay, img: &Image) -> Result<Vec<String>, Vec<Finding>> {
    check(b.soc, ov, &fw(img)).map(|r| r.notes)
}

/// Asserts the check fails and one finding carries the kernel's `message`.
#[track_caller]
fn refused_with(r: Result<Vec<String>, Vec<Finding>>, message: &str) -> Vec<Finding> {
    let f = r.expect_err("Linux would have accepted it");
    assert!(
        f.iter().any(|f| f.kernel_says.as_deref() == Some(message)),
        "no finding says {message:?}: {f:#?}"
    );
    f
}

/// Asserts the check fails and a finding from `source` mentions `text`.
#[track_caller]
fn refused_by(r: Result<Vec<String>, Vec<Finding>>, source: &str, text: &str) {
    let f = r.expect_err("Linux would have accepted it");
    assert!(
        f.iter()
            .any(|f| f.source.contains(source) && f.to_string().contains(text)),
        "no finding of {source} mentions {text:?}: {f:#?}"
    );
}

#[test]
fn shipped_overlays_compile_cleanly() {
    if !have_dtc() {
        return;
    }
    for b in &boards::BOARDS {
        let c = b.compile_overlay().unwrap();
        assert!(c.warnings.is_empty(), "{}: {}", b.overlay_file, c.warnings);
        let ov = Overlay::parse(&c.dtbo).unwrap();
        assert_eq!(
            ov.with_compatible(b.soc.compatible()).len(),
            1,
            "{}",
            b.name
        );
    }
}

#[test]
fn real_build_layouts_load_on_every_board() {
    if !have_dtc() {
        return;
    }
    for b in &boards::BOARDS {
        let img = if b.soc == Soc::Imx95M7 {
            imx95()
        } else {
            imx7d()
        };
        let notes =
            run(b, &overlay(b, |s| s), &img).unwrap_or_else(|f| panic!("{}: {f:#?}", b.name));
        let all = notes.join("\n");
        assert!(all.contains("kicks: firmware -> MU register 1"), "{all}");
        assert!(all.contains("vring 1: vdev0vring1"), "{all}");
        assert!(
            all.contains("resource table: Linux copies 88 bytes to rsc-table"),
            "{all}"
        );
        if b.soc == Soc::Imx7dM4 {
            assert!(all.contains("PT_LOAD 1 0x900000..0x9091dc -> OCRAM (Code) - alias 0x900000 (cm4sramcode@900000)"), "{all}");
            assert!(all.contains("PT_LOAD 0 0x0..0x23c -> OCRAM_S (M4 Boot code) - alias 0x180000 (OCRAM_S (Code))"), "{all}");
        } else {
            assert!(
                all.contains("PT_LOAD 0 0x0..0x9000 -> TCM CODE NON-SECURE 0x203c0000"),
                "{all}"
            );
        }
    }
}

// ---- The two faults issue 9 found on i.MX 7D ----------------------------------------------

/// The Linux devicetree boards/mcimx7d_m4_rpmsg.dtsi documented before: no memory-region over
/// OCRAM, no rsc-table.
const OLD_IMX7D: &str = r#"/dts-v1/;
/plugin/;
&{/} {
	#address-cells = <1>;
	#size-cells = <1>;
	reserved-memory {
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;
		m4_reserved: m4@80000000 { reg = <0x80000000 0x1000000>; no-map; };
		vdev0vring0: vdev0vring0@90000000 { reg = <0x90000000 0x8000>; no-map; };
		vdev0vring1: vdev0vring1@90008000 { reg = <0x90008000 0x8000>; no-map; };
		vdev0buffer: vdev0buffer@90400000 {
			compatible = "shared-dma-pool";
			reg = <0x90400000 0x100000>;
			no-map;
		};
	};
	imx7d-cm4 {
		compatible = "fsl,imx7d-cm4";
		mbox-names = "tx", "rx", "rxdb";
		mboxes = <&mu0a 0 1>, <&mu0a 1 1>, <&mu0a 3 1>;
		memory-region = <&vdev0buffer>, <&vdev0vring0>, <&vdev0vring1>, <&m4_reserved>;
		clocks = <&clks 66>;
		syscon = <&src>;
	};
};
&mu0a { status = "okay"; };
"#;

#[test]
fn old_imx7d_devicetree_refuses_the_ocram_code() {
    if !have_dtc() {
        return;
    }
    let ov = Overlay::parse(&compile_source("old.dtso", OLD_IMX7D, &[]).unwrap().dtbo).unwrap();
    let f = refused_with(
        run(board("colibri_imx7d"), &ov, &imx7d()),
        "bad phdr da 0x900000 mem 0x91dc",
    );
    assert!(
        f.iter()
            .any(|f| f.source == "imx_rproc_get_loaded_rsc_table()"),
        "{f:#?}"
    );
}

#[test]
fn kick_on_the_vring_id_is_not_heard() {
    if !have_dtc() {
        return;
    }
    // The firmware kicked vring 0 on TR0; Linux listens to RR1 only.
    let mut img = imx7d();
    img.secs[1].data = layout((0x9000_0000, 0x50_0000), Some((0x9022_0000, 0x1000)), 0);
    let b = board("pico_pi");
    refused_by(
        run(b, &overlay(b, |s| s), &img),
        "imx_mu_startup()",
        "kicks MU register 0",
    );
}

// ---- Firmware broken on purpose ------------------------------------------------------------

#[test]
fn elf_header_checks() {
    use imx_rproc::fw::sanity_check;
    let good = imx95().build();
    assert_eq!(sanity_check(&good), Ok(()));
    assert_eq!(sanity_check(&good[..40]).unwrap_err(), "Image is too small");
    let mut bad = good.clone();
    bad[1] = b'X';
    assert_eq!(
        sanity_check(&bad).unwrap_err(),
        "Image is corrupted (bad magic)"
    );
    let mut bad = good.clone();
    bad[4] = 3;
    assert_eq!(sanity_check(&bad).unwrap_err(), "Unsupported class: 3");
    let mut img = imx95();
    img.big_endian = true;
    assert_eq!(
        sanity_check(&img.build()).unwrap_err(),
        "Unsupported firmware endianness"
    );
    let mut img = imx95();
    img.segs.clear();
    assert_eq!(
        sanity_check(&img.build()).unwrap_err(),
        "No loadable segments"
    );
}

#[test]
fn segment_outside_every_att_row() {
    if !have_dtc() {
        return;
    }
    let b = board("imx95_evk");
    let mut img = imx95();
    img.segs.push(Seg {
        paddr: 0x3000_0000,
        filesz: 0x10,
        memsz: 0x10,
    });
    let f = refused_with(
        run(b, &overlay(b, |s| s), &img),
        "bad phdr da 0x30000000 mem 0x10",
    );
    assert!(
        f[0].detail
            .contains("Translation failed: da = 0x30000000 len = 0x10"),
        "{f:#?}"
    );
}

#[test]
fn segment_ending_at_the_end_of_itcm_is_refused() {
    if !have_dtc() {
        return;
    }
    // imx_rproc_da_to_sys(): da + len < att->da + att->size, strictly.
    let b = board("imx95_evk");
    let mut img = imx95();
    img.segs[0] = Seg {
        paddr: 0,
        filesz: 0x4_0000,
        memsz: 0x4_0000,
    };
    refused_with(
        run(b, &overlay(b, |s| s), &img),
        "bad phdr da 0x0 mem 0x40000",
    );
}

#[test]
fn load_stops_at_bad_sizes() {
    if !have_dtc() {
        return;
    }
    let b = board("imx95_evk");
    let ov = overlay(b, |s| s);
    let mut img = imx95();
    img.segs[1] = Seg {
        paddr: 0x2000_0000,
        filesz: 0x20,
        memsz: 0x10,
    };
    refused_with(run(b, &ov, &img), "bad phdr filesz 0x20 memsz 0x10");
    // A program header pointing past the end of the file.
    let mut bytes = imx95().build();
    let n = bytes.len() as u32;
    bytes[52 + 32 + 4..52 + 32 + 8].copy_from_slice(&(n - 4).to_le_bytes());
    bytes[52 + 32 + 16..52 + 32 + 20].copy_from_slice(&0x10u32.to_le_bytes());
    bytes[52 + 32 + 20..52 + 32 + 24].copy_from_slice(&0x10u32.to_le_bytes());
    let r = check(b.soc, &ov, &Firmware::parse(bytes).unwrap()).map(|r| r.notes);
    refused_with(
        r,
        &format!("truncated fw: need {:#x} avail {:#x}", n + 12, n),
    );
}

#[test]
fn resource_table_faults_in_the_kernels_words() {
    if !have_dtc() {
        return;
    }
    let b = board("imx95_evk");
    let ov = overlay(b, |s| s);
    let with_table = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut img = imx95();
        f(&mut img.secs[0].data);
        run(b, &ov, &img)
    };
    let r = with_table(&|t| t[0] = 2);
    let f = refused_with(r, "No resource table in elf");
    assert!(f[0].detail.contains("unsupported fw ver: 2"), "{f:#?}");
    refused_with(
        with_table(&|t| t[56..60].copy_from_slice(&0u32.to_le_bytes())),
        "invalid qsz (0) or alignment (16)",
    );
    refused_with(
        with_table(&|t| t[47] = 1),
        "vdev rsc has non zero reserved bytes",
    );
    // 2048 descriptors: PAGE_ALIGN(vring_size(2048, 16)) = 0xe000 > 0x8000.
    refused_with(
        with_table(&|t| {
            t[56..60].copy_from_slice(&2048u32.to_le_bytes());
            t[76..80].copy_from_slice(&2048u32.to_le_bytes());
        }),
        "Registered carveout doesn't fit len request",
    );
    let mut img = imx95();
    img.secs.remove(0);
    refused_with(run(b, &ov, &img), "No resource table in elf");
}

#[test]
fn firmware_layout_must_match_the_overlay() {
    if !have_dtc() {
        return;
    }
    let b = board("imx95_evk");
    let ov = overlay(b, |s| s);
    let with_layout = |l: Vec<u8>| {
        let mut img = imx95();
        img.secs[1].data = l;
        run(b, &ov, &img)
    };
    // Table copied to the wrong place, or not copied at all.
    refused_by(
        with_layout(layout(
            (0x8800_0000, 0x50_0000),
            Some((0x8821_0000, 0x1000)),
            1,
        )),
        "imx_rproc_elf_find_loaded_rsc_table()",
        "firmware keeps it at 0x88210000",
    );
    refused_by(
        with_layout(layout((0x8800_0000, 0x50_0000), None, 1)),
        "imx_rproc_elf_find_loaded_rsc_table()",
        "no CONFIG_OPENAMP_COPY_RSC_TABLE",
    );
    // Shared memory that ends before the buffers.
    refused_by(
        with_layout(layout(
            (0x8800_0000, 0x2_0000),
            Some((0x8822_0000, 0x1000)),
            1,
        )),
        "rpmsg_probe()",
        "outside the firmware's shared memory",
    );
    // Shared memory that starts after the vrings.
    refused_by(
        with_layout(layout(
            (0x8801_0000, 0x50_0000),
            Some((0x8822_0000, 0x1000)),
            1,
        )),
        "rp_find_vq()",
        "Linux puts vring 0 at vdev0vring0 0x88000000..0x880001b6",
    );
    let mut img = imx95();
    img.syms.pop();
    refused_by(
        run(b, &ov, &img),
        "mcore-rs",
        "no mcore_rs_linux_layout record",
    );
}

#[test]
fn boot_address() {
    if !have_dtc() {
        return;
    }
    let b = board("imx95_evk");
    let ov = overlay(b, |s| s);
    let mut img = imx95();
    img.syms[0].1 = 0x400;
    refused_by(
        run(b, &ov, &img),
        "imx_rproc_get_boot_addr()",
        "reset vector to 0x0 (no .interrupts section: 0)",
    );
    // NXP's kernel takes the .interrupts section's address.
    img.secs.push(Sec {
        name: ".interrupts",
        addr: 0x400,
        data: vec![0; 8],
    });
    run(b, &ov, &img).unwrap();
    let b = board("warp7");
    let mut img = imx7d();
    img.syms[0].1 = 0x90_0000;
    refused_by(
        run(b, &overlay(b, |s| s), &img),
        "imx_rproc_mmio_start()",
        "vector table is at 0x900000",
    );
}

// ---- Overlays broken on purpose -------------------------------------------------------------

fn imx95_with(edit: impl Fn(String) -> String) -> Result<Vec<String>, Vec<Finding>> {
    let b = board("imx95_evk");
    run(b, &overlay(b, edit), &imx95())
}

fn imx7d_with(edit: impl Fn(String) -> String) -> Result<Vec<String>, Vec<Finding>> {
    let b = board("colibri_imx7d");
    run(b, &overlay(b, edit), &imx7d())
}

#[test]
fn imx95_probe_properties() {
    if !have_dtc() {
        return;
    }
    refused_with(
        imx95_with(|s| s.replace("\t\tfsl,cpu-id = <1>;\n", "")),
        "No fsl,cpu-id property",
    );
    refused_with(
        imx95_with(|s| s.replace("\t\tfsl,lmm-id = <1>;\n", "")),
        "No fsl,lmm-id property",
    );
    refused_by(
        imx95_with(|s| s.replace("fsl,cpu-id = <1>", "fsl,cpu-id = <2>")),
        "imx_rproc_detect_mode()",
        "fsl,cpu-id = <2>",
    );
    refused_by(
        imx95_with(|s| {
            s.replace(
                "imx95-cm7 {\n\t\tcompatible",
                "imx95-cm7 {\n\t\tstatus = \"disabled\";\n\t\tcompatible",
            )
            .replace(
                "\t\tstatus = \"okay\";\n\t};\n};\n\n&mu7",
                "\t};\n};\n\n&mu7",
            )
        }),
        "imx_rproc_probe()",
        "no enabled \"fsl,imx95-cm7\" node",
    );
}

#[test]
fn imx95_mailbox_channels() {
    if !have_dtc() {
        return;
    }
    // Linux listening on RR0: the firmware's kicks on TR1 go unheard.
    refused_by(
        imx95_with(|s| s.replace("<&mu7 1 1>", "<&mu7 1 0>")),
        "imx_mu_startup()",
        "enables the receive interrupt of register 0 only",
    );
    refused_by(
        imx95_with(|s| s.replace("<&mu7 1 1>", "<&mu7 0 1>")),
        "imx_mu_startup()",
        "\"rx\" = <&mu7 0 1>",
    );
    refused_with(
        imx95_with(|s| s.replace("<&mu7 1 1>", "<&mu7 1 23>")),
        "Not supported channel number: 27. (type: 1, idx: 23)",
    );
    refused_with(
        imx95_with(|s| s.replace("\"tx\", \"rx\", \"rxdb\"", "\"tx\", \"rxx\", \"rxdb\"")),
        "failed to request rx mailbox channel",
    );
    refused_by(
        imx95_with(|s| s.replace("\t\tmbox-names = \"tx\", \"rx\", \"rxdb\";\n", "")),
        "imx_rproc_xtr_mbox_init()",
        "no mbox-names",
    );
}

#[test]
fn imx95_memory_regions() {
    if !have_dtc() {
        return;
    }
    refused_by(
        imx95_with(|s| s.replace("<&vdev0vring0>, <&vdev0vring1>,", "<&vdev0vring0>,")),
        "rproc_alloc_vring()",
        "no vdev0vring1 memory-region",
    );
    refused_by(
        imx95_with(|s| s.replace("\t\tcompatible = \"shared-dma-pool\";\n", "")),
        "of_reserved_mem_device_init_by_idx(0)",
        "has no compatible = \"shared-dma-pool\"",
    );
    refused_with(
        imx95_with(|s| s.replace("<0 0x88020000 0 0x100000>", "<0 0x88020000 0 0x2000>")),
        "probe with driver virtio_rpmsg_bus failed with error -12",
    );
    refused_with(
        imx95_with(|s| s.replace("<0 0x88220000 0 0x1000>", "<0 0x88100000 0 0x1000>").replace("rsc-table@88220000", "rsc-table@88100000")),
        "OVERLAP DETECTED!\nvdevbuffer@88020000 (0x0000000088020000--0x0000000088120000) overlaps with rsc-table@88100000 (0x0000000088100000--0x0000000088101000)",
    );
    refused_by(
        imx95_with(|s| s.replace("<&vdev1vring1>, <&rsc_table>;", "<&vdev1vring1>;")),
        "imx_rproc_get_loaded_rsc_table()",
        "no rsc-table memory-region",
    );
    refused_with(
        imx95_with(|s| {
            s.replace("#size-cells = <2>;", "#size-cells = <1>;")
                .replace("0 0x8000>", "0x8000>")
                .replace("0 0x100000>", "0x100000>")
                .replace("0 0x1000>", "0x1000>")
        }),
        "Reserved memory: unsupported node format, ignoring",
    );
}

#[test]
fn imx7d_overlay_faults() {
    if !have_dtc() {
        return;
    }
    refused_with(
        imx7d_with(|s| s.replace("\t\tsyscon = <&src>;\n", "")),
        "failed to find syscon",
    );
    refused_by(
        imx7d_with(|s| s.replace("&mu0a {\n\tstatus = \"okay\";\n};\n", "")),
        "imx_rproc_xtr_mbox_init()",
        "imx7s.dtsi disables &mu0a",
    );
    refused_with(
        imx7d_with(|s| s.replace("<&rsc_table>, <&m4_ocram>;", "<&rsc_table>;")),
        "bad phdr da 0x900000 mem 0x91dc",
    );
    refused_with(
        imx7d_with(|s| {
            s.replace(
                "\t\t\tno-map;\n\t\t};\n\n\t\trsc_table",
                "\t\t};\n\n\t\trsc_table",
            )
        }),
        "Reserved memory: regions without no-map are not yet supported",
    );
    refused_by(
        imx7d_with(|s| s.replace("<&mu0a 0 1>", "<&mu7 0 1>")),
        "imx_rproc_xtr_mbox_init()",
        "not &mu0a",
    );
}

#[test]
fn check_elf_entry_point() {
    if !have_dtc() {
        return;
    }
    let elf = write_temp(&imx7d().build(), ".elf");
    match imx_rproc::check_elf("96b_meerkat96/mcimx7d/m4", None, elf.path()).unwrap() {
        imx_rproc::Verdict::Loads(r) => assert!(!r.notes.is_empty()),
        imx_rproc::Verdict::Refused(f) => panic!("{f:#?}"),
    }
    let bad = write_temp(
        b"not an elf, long enough to pass the size check ..........",
        ".elf",
    );
    match imx_rproc::check_elf("imx95_evk", None, bad.path()).unwrap() {
        imx_rproc::Verdict::Refused(f) => {
            assert_eq!(
                f[0].kernel_says.as_deref(),
                Some("Image is corrupted (bad magic)")
            )
        }
        imx_rproc::Verdict::Loads(_) => panic!("loaded garbage"),
    }
    assert!(matches!(
        imx_rproc::check_elf("stm32mp157c_dk2", None, elf.path()),
        Err(imx_rproc::SetupError::UnknownBoard(_))
    ));
    // A user's own overlay file, as source.
    let ov = write_temp(OLD_IMX7D.as_bytes(), ".dtso");
    match imx_rproc::check_elf("colibri_imx7d", Some(ov.path()), elf.path()).unwrap() {
        imx_rproc::Verdict::Refused(f) => assert!(f
            .iter()
            .any(|f| f.kernel_says.as_deref() == Some("bad phdr da 0x900000 mem 0x91dc"))),
        imx_rproc::Verdict::Loads(_) => panic!("old overlay accepted"),
    }
}

// ---- Applying the overlays ------------------------------------------------------------------

/// Stand-ins for the base devicetrees: the nodes and labels the overlays refer to, as
/// mainline imx95.dtsi/imx95-19x19-evk.dts and imx7s.dtsi have them, and NXP lf-6.12's EVK
/// nodes for the i.MX 95 (which the overlay must merge with, not duplicate).
const BASE_IMX95_MAINLINE: &str = r#"/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		linux_cma: linux,cma { compatible = "shared-dma-pool"; size = <0 0x3c000000>; reusable; };
	};
	mu7: mailbox@42430000 { reg = <0 0x42430000 0 0x10000>; #mbox-cells = <2>; status = "okay"; };
};
"#;

const BASE_IMX95_NXP: &str = r#"/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		vdev0vring0: vdev0vring0@88000000 { reg = <0 0x88000000 0 0x8000>; no-map; };
		vdev0vring1: vdev0vring1@88008000 { reg = <0 0x88008000 0 0x8000>; no-map; };
		vdev1vring0: vdev1vring0@88010000 { reg = <0 0x88010000 0 0x8000>; no-map; };
		vdev1vring1: vdev1vring1@88018000 { reg = <0 0x88018000 0 0x8000>; no-map; };
		rsc_table: rsc-table@88220000 { reg = <0 0x88220000 0 0x1000>; no-map; };
		vdevbuffer: vdevbuffer@88020000 { compatible = "shared-dma-pool"; reg = <0 0x88020000 0 0x100000>; no-map; };
	};
	mu7: mailbox@42430000 { reg = <0 0x42430000 0 0x10000>; #mbox-cells = <2>; status = "okay"; };
	cm7: imx95-cm7 {
		compatible = "fsl,imx95-cm7";
		mbox-names = "tx", "rx", "rxdb";
		mboxes = <&mu7 0 1 &mu7 1 1 &mu7 3 1>;
		memory-region = <&vdevbuffer>, <&vdev0vring0>, <&vdev0vring1>, <&vdev1vring0>, <&vdev1vring1>, <&rsc_table>;
		fsl,cpu-id = <1>;
		fsl,lmm-id = <1>;
		fsl,startup-delay-ms = <50>;
		status = "okay";
	};
};
"#;

const BASE_IMX7: &str = r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	memory@80000000 { device_type = "memory"; reg = <0x80000000 0x20000000>; };
	clks: clock-controller@30380000 { reg = <0x30380000 0x10000>; #clock-cells = <1>; };
	src: reset-controller@30390000 { reg = <0x30390000 0x10000>; #reset-cells = <1>; };
	mu0a: mailbox@30aa0000 { reg = <0x30aa0000 0x10000>; #mbox-cells = <2>; status = "disabled"; };
};
"#;

/// Applies `overlay` (a dtbo) to `base` (dts source) with fdtoverlay; returns the result as
/// dts text.
fn apply(base: &str, overlay: &[u8]) -> Option<String> {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let (b, o, out) = (
        dir.path().join("base.dts"),
        dir.path().join("o.dtbo"),
        dir.path().join("out.dtb"),
    );
    std::fs::write(&b, base).unwrap();
    std::fs::write(&o, overlay).unwrap();
    let base_dtb = dir.path().join("base.dtb");
    let ok = Command::new("dtc")
        .args(["-@", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&base_dtb)
        .arg(&b)
        .status()
        .ok()?
        .success();
    assert!(ok, "base did not compile");
    let Ok(st) = Command::new("fdtoverlay")
        .arg("-i")
        .arg(&base_dtb)
        .arg("-o")
        .arg(&out)
        .arg(&o)
        .status()
    else {
        eprintln!("fdtoverlay not found: skipping");
        return None;
    };
    assert!(st.success(), "fdtoverlay failed");
    let dts = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts"])
        .arg(&out)
        .output()
        .unwrap();
    Some(String::from_utf8(dts.stdout).unwrap())
}

#[test]
fn overlays_apply_to_their_bases() {
    if !have_dtc() {
        return;
    }
    let imx95 = board("imx95_evk").compile_overlay().unwrap().dtbo;
    for (base, what) in [
        (BASE_IMX95_MAINLINE, "mainline"),
        (BASE_IMX95_NXP, "NXP lf-6.12"),
    ] {
        let Some(dts) = apply(base, &imx95) else {
            return;
        };
        assert_eq!(
            dts.matches("compatible = \"fsl,imx95-cm7\"").count(),
            1,
            "{what}: {dts}"
        );
        assert_eq!(
            dts.matches("vdev0vring0@88000000 {").count(),
            1,
            "{what}: {dts}"
        );
        assert_eq!(
            dts.matches("rsc-table@88220000 {").count(),
            1,
            "{what}: {dts}"
        );
        assert!(dts.contains("fsl,cpu-id = <0x01>;"), "{what}: {dts}");
    }
    for b in boards::BOARDS.iter().filter(|b| b.soc == Soc::Imx7dM4) {
        let ov = b.compile_overlay().unwrap().dtbo;
        let Some(dts) = apply(BASE_IMX7, &ov) else {
            return;
        };
        assert!(dts.contains("imx7d-cm4 {"), "{}: {dts}", b.name);
        assert!(dts.contains("cm4sramcode@900000 {"), "{}: {dts}", b.name);
        // MU-A enabled; mboxes point at it.
        let mu = dts.split("mailbox@30aa0000 {").nth(1).unwrap();
        assert!(
            mu[..mu.find('}').unwrap()].contains("status = \"okay\""),
            "{}: {dts}",
            b.name
        );
    }
}
