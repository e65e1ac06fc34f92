//! mcore-rs echo: the Rust counterpart of Zephyr's C `openamp_rsc_table` sample.
//!
//! * `rpmsg-client-sample`: every message goes back unchanged to its sender (Linux's
//!   `rpmsg_client_sample` module sends 100 and checks each reply). Callback endpoint.
//! * `rpmsg-tty`: every message goes back prefixed with `TTY 0x<addr>: `, so writing to
//!   `/dev/ttyRPMSGn` (Linux `rpmsg_tty`) reads back the prefixed line. Queue endpoint with
//!   zero-copy receive and send.
//!
//! Prints a boot line, and the per-endpoint counters after each burst of traffic.

#![no_std]

use core::fmt::Write;

use log::{info, warn};
use zephyr::time::Duration;
use zephyr_mcore::rpmsg::{Endpoint, Received, Rpmsg, Stats};

/// Echo endpoint: handled in the kick-processing thread, so its queue is unused.
static CLIENT_SAMPLE: Endpoint<1> = Endpoint::new();
/// TTY endpoint: messages queued (buffers held) until the main loop answers them.
static TTY: Endpoint<16> = Endpoint::new();

/// How long a reply may wait for a free transmit buffer.
const SEND_TIMEOUT: Duration = Duration::millis(100);
/// Quiet time after which the counters are printed.
const REPORT_AFTER: Duration = Duration::millis(500);

fn echo(ep: &Endpoint<1>, msg: Received<'_>) {
    if let Err(e) = ep.send_to(msg.data, msg.src, SEND_TIMEOUT) {
        warn!("rpmsg-client-sample: reply to {:#x} failed: {}", msg.src, e);
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

fn tty_reply() -> Result<(), zephyr_mcore::Error> {
    let msg = TTY.try_recv()?;
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
        "mcore-rs echo {} on {}: rpmsg-client-sample, rpmsg-tty",
        env!("CARGO_PKG_VERSION"),
        zephyr::kconfig::CONFIG_BOARD
    );

    let rpmsg = match Rpmsg::init() {
        Ok(r) => r,
        Err(e) => {
            warn!("rpmsg init failed: {}", e);
            return;
        }
    };
    if let Err(e) = CLIENT_SAMPLE.bind_with_callback(rpmsg, "rpmsg-client-sample", echo) {
        warn!("rpmsg-client-sample: {}", e);
    }
    if let Err(e) = TTY.bind(rpmsg, "rpmsg-tty") {
        warn!("rpmsg-tty: {}", e);
    }
    info!(
        "endpoints: rpmsg-client-sample {:#x}, rpmsg-tty {:#x}",
        CLIENT_SAMPLE.addr(),
        TTY.addr()
    );
    // The payload limit is enforced before any buffer is taken: show it once.
    let max = CLIENT_SAMPLE.max_payload().unwrap_or(0);
    match CLIENT_SAMPLE.try_send_to(&[0u8; 497], 0x400) {
        Err(e) => info!(
            "max payload {} bytes; a 497-byte send is refused: {}",
            max, e
        ),
        Ok(()) => warn!("a 497-byte send was accepted"),
    }

    let mut shown = (Stats::default(), Stats::default());
    loop {
        let kicked = rpmsg.poll(REPORT_AFTER).unwrap_or(false);
        loop {
            match tty_reply() {
                Ok(()) => {}
                Err(zephyr_mcore::Error::WouldBlock) => break,
                Err(e) => warn!("rpmsg-tty: reply failed: {}", e),
            }
        }
        let now = (CLIENT_SAMPLE.stats(), TTY.stats());
        if !kicked && now != shown {
            report("rpmsg-client-sample", now.0);
            report("rpmsg-tty", now.1);
            shown = now;
        }
    }
}
