//! Kconfig booleans as `cfg`s: which NXP BSP services the echo also serves
//! (samples/echo/Kconfig).

fn main() {
    zephyr_build::export_bool_kconfig();
    for cfg in [
        "CONFIG_MCORE_RS_ECHO_IMX_TTY",
        "CONFIG_MCORE_RS_ECHO_IMX_PINGPONG",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
}
