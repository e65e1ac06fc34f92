//! The echo's services for NXP's BSP kernels (linux-imx lf-6.x), chosen by Kconfig
//! (samples/echo/Kconfig, nxp-bsp.conf):
//!
//! * `CONFIG_MCORE_RS_ECHO_IMX_TTY`: NXP's `imx_rpmsg_tty` binds
//!   `CONFIG_MCORE_RS_ECHO_IMX_TTY_NAME` (`rpmsg-virtual-tty-channel-1` or
//!   `rpmsg-virtual-tty-channel`), sends `hello world!` when it probes and then whatever is
//!   written to `/dev/ttyRPMSG<addr>`, in pieces of at most 256 bytes. Every message goes back
//!   unchanged, except that greeting.
//! * `CONFIG_MCORE_RS_ECHO_IMX_PINGPONG`: NXP's `imx_rpmsg_pingpong` binds
//!   `rpmsg-openamp-demo-channel`, sends `hello world!`, then the counter 0 as a 32-bit
//!   number; each counter `n` goes back as `n + 1` to the sender, and Linux answers with the
//!   next until it gets more than 100 ("goodbye!").

use zephyr_mcore::rpmsg::Rpmsg;
#[cfg(any(CONFIG_MCORE_RS_ECHO_IMX_TTY, CONFIG_MCORE_RS_ECHO_IMX_PINGPONG))]
use {
    crate::SEND_TIMEOUT,
    log::{info, warn},
    zephyr_mcore::rpmsg::{Endpoint, Received},
    zephyr_mcore::Error,
};

/// What NXP's drivers send first when they probe (`MSG` in both drivers).
#[cfg(any(CONFIG_MCORE_RS_ECHO_IMX_TTY, CONFIG_MCORE_RS_ECHO_IMX_PINGPONG))]
const GREETING: &[u8] = b"hello world!";

#[cfg(CONFIG_MCORE_RS_ECHO_IMX_TTY)]
static IMX_TTY: Endpoint<1> = Endpoint::new();
#[cfg(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG)]
static PINGPONG: Endpoint<1> = Endpoint::new();

/// The channel name of the pingpong service.
#[cfg(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG)]
const PINGPONG_NAME: &str = "rpmsg-openamp-demo-channel";

#[cfg(CONFIG_MCORE_RS_ECHO_IMX_TTY)]
fn imx_tty(ep: &Endpoint<1>, msg: Received<'_>) {
    if msg.data == GREETING {
        info!("imx_rpmsg_tty at {:#x} says hello", msg.src);
        return;
    }
    match ep.send_to(msg.data, msg.src, SEND_TIMEOUT) {
        Ok(()) | Err(Error::LinkDown) => {}
        Err(e) => warn!("imx_rpmsg_tty: reply to {:#x} failed: {}", msg.src, e),
    }
}

/// The reply to one pingpong message: `Some(n + 1)` for a counter `n`, `None` otherwise.
#[cfg(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG)]
fn pingpong_reply(data: &[u8]) -> Option<u32> {
    let n = u32::from_le_bytes(data.try_into().ok()?);
    Some(n.wrapping_add(1))
}

#[cfg(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG)]
fn pingpong(ep: &Endpoint<1>, msg: Received<'_>) {
    let Some(next) = pingpong_reply(msg.data) else {
        if msg.data == GREETING {
            info!("imx_rpmsg_pingpong at {:#x} says hello", msg.src);
        } else {
            warn!(
                "{}: {}-byte message is no counter",
                PINGPONG_NAME,
                msg.data.len()
            );
        }
        return;
    };
    match ep.send_to(&next.to_le_bytes(), msg.src, SEND_TIMEOUT) {
        Ok(()) if next > 100 => info!("{}: sent {}, Linux says goodbye", PINGPONG_NAME, next),
        Ok(()) | Err(Error::LinkDown) => {}
        Err(e) => warn!("{}: reply to {:#x} failed: {}", PINGPONG_NAME, msg.src, e),
    }
}

/// The NXP services Kconfig chose, for the boot line.
pub const SERVICES: &str = if cfg!(CONFIG_MCORE_RS_ECHO_IMX_TTY) {
    if cfg!(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG) {
        ", imx_rpmsg_tty, rpmsg-openamp-demo-channel"
    } else {
        ", imx_rpmsg_tty"
    }
} else if cfg!(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG) {
    ", rpmsg-openamp-demo-channel"
} else {
    ""
};

/// Binds the NXP services Kconfig chose.
pub fn bind(rpmsg: &'static Rpmsg) {
    let _ = rpmsg;
    #[cfg(CONFIG_MCORE_RS_ECHO_IMX_TTY)]
    {
        let name = zephyr::kconfig::CONFIG_MCORE_RS_ECHO_IMX_TTY_NAME;
        if let Err(e) = IMX_TTY.bind_with_callback(rpmsg, name, imx_tty) {
            warn!("{}: {}", name, e);
        }
    }
    #[cfg(CONFIG_MCORE_RS_ECHO_IMX_PINGPONG)]
    if let Err(e) = PINGPONG.bind_with_callback(rpmsg, PINGPONG_NAME, pingpong) {
        warn!("{}: {}", PINGPONG_NAME, e);
    }
}
