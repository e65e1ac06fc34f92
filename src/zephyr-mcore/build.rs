//! Build script: Kconfig as `cfg`s, and bindgen over the module header
//! `include/mcore_rs/bindings.h` (OpenAMP, libmetal, Zephyr resource table, mcore-rs shims).
//!
//! Runs inside a Zephyr build: rust_cargo_application() exports DOTCONFIG, INCLUDE_DIRS,
//! INCLUDE_DEFINES and ZEPHYR_BASE, as for zephyr-sys.

use std::env;
use std::path::PathBuf;

fn main() {
    zephyr_build::export_bool_kconfig();
    for cfg in [
        "CONFIG_RUST_RPMSG",
        "CONFIG_RUST_IPM",
        "CONFIG_RUST_I2C",
        "CONFIG_IPM",
        "CONFIG_I2C",
        "CONFIG_OPENAMP_COPY_RSC_TABLE",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }

    let header =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/mcore_rs/bindings.h");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed=../../include/mcore_rs/shim.h");
    println!("cargo:rerun-if-changed=../../include/mcore_rs/linux_shim.h");

    let target = env::var("TARGET").unwrap();
    let zephyr_base = env::var("ZEPHYR_BASE").expect("ZEPHYR_BASE (run from a Zephyr build)");
    let mut b = bindgen::Builder::default()
        .header(header.canonicalize().unwrap().to_str().unwrap())
        .use_core()
        .clang_arg(format!("--target={target}"))
        .clang_arg("-DRUST_BINDGEN")
        // libmetal would use C11 <stdatomic.h>, which clang cannot parse from GCC's include
        // dir; its GCC-builtin fallback has the same layout.
        .clang_arg("-D__STDC_NO_ATOMICS__")
        .clang_arg(format!("-I{zephyr_base}/lib/libc/minimal/include"));
    for (prefix, var) in [("-I", "INCLUDE_DIRS"), ("-D", "INCLUDE_DEFINES")] {
        for entry in env::var(var).unwrap_or_default().split([' ', ';']) {
            if !entry.is_empty() {
                b = b.clang_arg(format!("{prefix}{entry}"));
            }
        }
    }
    let bindings = b
        .derive_default(true)
        .layout_tests(false)
        // struct device is zephyr-sys's type; share it instead of generating a twin.
        .blocklist_type("device")
        .raw_line("pub use zephyr::raw::device;")
        .allowlist_function("mcore_.*")
        .allowlist_function("rpmsg_.*")
        .allowlist_function("rproc_virtio_.*")
        .allowlist_function("metal_init")
        .allowlist_function("metal_finish")
        .allowlist_function("metal_io_init")
        .allowlist_function("metal_default_log_handler")
        .allowlist_function("rsc_table_.*")
        .allowlist_function("addr_translation_get_ops")
        .allowlist_type("metal_init_params")
        .allowlist_type("i2c_msg")
        .allowlist_var("RPMSG_.*")
        .allowlist_var("mcore_.*")
        .allowlist_var("RSC_NOTIFY_ID_ANY")
        .allowlist_var("VIRTIO_DEV_DEVICE")
        .allowlist_var("VDEV_ID")
        .allowlist_var("METAL_LOG_.*")
        .allowlist_var("I2C_MSG_.*")
        .allowlist_var("I2C_SPEED_.*")
        .allowlist_var("I2C_MODE_.*")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen over include/mcore_rs/bindings.h");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    bindings.write_to_file(out.join("bindings.rs")).unwrap();
}
