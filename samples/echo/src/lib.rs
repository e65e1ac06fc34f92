//! mcore-rs echo: the Rust counterpart of Zephyr's C `openamp_rsc_table` sample.
//!
//! * `rpmsg-client-sample`: every message goes back unchanged to its sender (Linux's
//!   `rpmsg_client_sample` module sends 100 and checks each reply). Callback endpoint.
//! * `rpmsg-tty`: every message goes back prefixed with `TTY 0x<addr>: `, so writing to
//!   `/dev/ttyRPMSGn` (Linux `rpmsg_tty`) reads back the prefixed line. Queue endpoint with
//!   zero-copy receive and send.
//!
//! * NXP BSP kernels, with `CONFIG_MCORE_RS_ECHO_IMX_TTY` / `_IMX_PINGPONG` (`nxp-bsp.conf`):
//!   `imx_rpmsg_tty` and `imx_rpmsg_pingpong`, see [`nxp`].
//!
//! Prints a boot line, each link change (Linux started or restarted the vdev), and the
//! per-endpoint counters after each burst of traffic. Replies always go to the address the
//! message came from.

#![no_std]

mod nxp;

use core::fmt::Write;

use log::{info, warn};
use zephyr::time::Duration;
use zephyr_mcore::rpmsg::{Endpoint, LinkState, Received, Rpmsg, RxBuffer, Stats};
use zephyr_mcore::Error;

/// Echo endpoint: handled in the link thread, so its queue is unused.
static CLIENT_SAMPLE: Endpoint<1> = Endpoint::new();
/// TTY endpoint: messages queued (buffers held) until the main loop answers them.
static TTY: Endpoint<16> = Endpoint::new();

/// How long a reply may wait for a free transmit buffer.
const SEND_TIMEOUT: Duration = Duration::millis(100);
/// Quiet time after which the counters are printed.
const REPORT_AFTER: Duration = Duration::millis(500);

fn echo(ep: &Endpoint<1>, msg: Received<'_>) {
    match ep.send_to(msg.data, msg.src, SEND_TIMEOUT) {
        Ok(()) | Err(Error::LinkDown) => {}
        Err(e) => warn!("rpmsg-client-sample: reply to {:#x} failed: {}", msg.src, e),
    }
}

fn link_changed(s: LinkState) {
    match s {
        LinkState::Up => info!(
            "endpoints: rpmsg-client-sample {:#x}, rpmsg-tty {:#x}",
            CLIENT_SAMPLE.addr(),
            TTY.addr()
        ),
        LinkState::Down => info!("link down: waiting for Linux to start the vdev again"),
    }
}

/// A `core::fmt::Write` over a byte slice that stops at its end.
struct SliceWriter<'a>(&'a mut [u8], usize);

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.0.len() - self.1);
        self.0[self.1..self.1 + n].copy_from_slice(&s.as_bytes()[..n]);
        self.1 += n;
        Ok(())
    }
}

fn tty_reply(msg: RxBuffer<'_>) -> Result<(), Error> {
    let mut tx = TTY.tx_buffer(msg.src(), SEND_TIMEOUT)?;
    let buf = tx.as_mut();
    let mut w = SliceWriter(buf, 0);
    let _ = write!(w, "TTY {:#06x}: ", TTY.addr());
    let prefix = w.1;
    let n = msg.len().min(buf.len() - prefix);
    buf[prefix..prefix + n].copy_from_slice(&msg[..n]);
    tx.send(prefix + n)
}

fn report(name: &str, s: Stats) {
    info!("{}: rx {} tx {} dropped {}", name, s.rx, s.tx, s.rx_dropped);
}

#[no_mangle]
extern "C" fn rust_main() {
    // SAFETY: called once, before any other thread logs.
    unsafe { zephyr::set_logger().ok() };
    info!(
        "mcore-rs echo {} on {}: rpmsg-client-sample, rpmsg-tty{}",
        env!("CARGO_PKG_VERSION"),
        zephyr::kconfig::CONFIG_BOARD,
        nxp::SERVICES
    );

    let rpmsg = match Rpmsg::init() {
        Ok(r) => r,
        Err(e) => {
            warn!("rpmsg init failed: {}", e);
            return;
        }
    };
    rpmsg.on_link_change(link_changed);
    if let Err(e) = CLIENT_SAMPLE.bind_with_callback(rpmsg, "rpmsg-client-sample", echo) {
        warn!("rpmsg-client-sample: {}", e);
    }
    if let Err(e) = TTY.bind(rpmsg, "rpmsg-tty") {
        warn!("rpmsg-tty: {}", e);
    }
    nxp::bind(rpmsg);
    // The payload limit is enforced before any buffer is taken: show it once.
    match CLIENT_SAMPLE.try_send_to(&[0u8; 497], 0x400) {
        Err(e) => info!(
            "max payload {} bytes; a 497-byte send is refused: {}",
            CLIENT_SAMPLE.max_payload(),
            e
        ),
        Ok(()) => warn!("a 497-byte send was accepted"),
    }

    let mut shown = (Stats::default(), Stats::default());
    loop {
        match TTY.recv(REPORT_AFTER) {
            Ok(msg) => match tty_reply(msg) {
                Ok(()) | Err(Error::LinkDown) => {}
                Err(e) => warn!("rpmsg-tty: reply failed: {}", e),
            },
            Err(Error::TimedOut) => {
                let now = (CLIENT_SAMPLE.stats(), TTY.stats());
                if now != shown {
                    report("rpmsg-client-sample", now.0);
                    report("rpmsg-tty", now.1);
                    shown = now;
                }
            }
            Err(e) => warn!("rpmsg-tty: {}", e),
        }
    }
}
