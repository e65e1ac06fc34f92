//! mcore-rs IMU: an Adafruit Precision NXP 9-DOF (FXOS8700 + FXAS21002) on Zephyr I2C,
//! streamed to Linux over RPMsg so that no sample is lost when Linux goes away and comes back.
//!
//! * Every 10 ms: read both chips, compute |accel| (m/s²), |mag| (µT), |gyro| (dps), push
//!   (sequence number, uptime ms, three norms) into a 300-entry buffer.
//! * Every 100 ms, while Linux is there: send the unsent samples in batches of 10 on the
//!   `mcore-imu` channel.
//! * Linux controls the stream on the same channel: start (with the heartbeat timeout),
//!   stop, heartbeat, ack. No heartbeat for the timeout → stop sending, keep sampling and
//!   buffering; Linux back → resend from the oldest unacknowledged sample.
//! * Only acknowledged samples are freed. A full buffer drops its oldest sample and counts it;
//!   the count travels in every batch header and shows as a gap in sequence numbers.

#![no_std]

use imu_proto::buffer::SampleBuffer;
use imu_proto::wire::{self, Command, Sample, MAX_BATCH};
use log::{error, info, warn};
use nxp_imu::{norm, AccelRange, Fxas21002, Fxos8700, GyroOdr, GyroRange, Odr};
use zephyr::time::Duration;
use zephyr_mcore::i2c::I2c;
use zephyr_mcore::rpmsg::{Endpoint, Rpmsg};
use zephyr_mcore::Error;

/// Control messages in, batches out. 16 held buffers: never more than the vring holds.
static IMU: Endpoint<16> = Endpoint::new();

const SAMPLE_PERIOD_MS: i64 = 10;
const SAMPLES_PER_SEND: u32 = 10;
const BUFFER: usize = 300;
const DEFAULT_HEARTBEAT_TIMEOUT_MS: u32 = 1000;

fn uptime_ms() -> i64 {
    // SAFETY: k_uptime_get() has no preconditions.
    unsafe { zephyr::raw::k_uptime_get() }
}

/// What Linux asked for.
struct Link {
    streaming: bool,
    heartbeat_lost: bool,
    heartbeat_timeout_ms: u32,
    last_heartbeat_ms: i64,
}

impl Link {
    fn apply(&mut self, cmd: Command, buf: &mut SampleBuffer<BUFFER>, now: i64) {
        match cmd {
            Command::Start {
                heartbeat_timeout_ms,
            } => {
                self.streaming = true;
                self.heartbeat_lost = false;
                self.last_heartbeat_ms = now;
                if heartbeat_timeout_ms > 0 {
                    self.heartbeat_timeout_ms = heartbeat_timeout_ms;
                }
                buf.rewind();
                info!(
                    "start: heartbeat timeout {} ms, resending from the oldest of {} buffered",
                    self.heartbeat_timeout_ms,
                    buf.len()
                );
            }
            Command::Stop => {
                self.streaming = false;
                info!("stop: sampling and buffering go on");
            }
            Command::Heartbeat => {
                self.last_heartbeat_ms = now;
                if self.heartbeat_lost {
                    self.heartbeat_lost = false;
                    buf.rewind();
                    info!("Linux back: resending {} buffered samples", buf.len());
                }
            }
            Command::Ack { seq } => {
                buf.ack(seq);
            }
        }
    }

    fn check_heartbeat(&mut self, buf: &SampleBuffer<BUFFER>, now: i64) {
        if self.streaming
            && !self.heartbeat_lost
            && now - self.last_heartbeat_ms > i64::from(self.heartbeat_timeout_ms)
        {
            self.heartbeat_lost = true;
            warn!(
                "heartbeat lost: stop sending, buffering ({} samples)",
                buf.len()
            );
        }
    }
}

/// Sends every unsent sample in batches of up to 10, until none is left or no buffer is free.
fn send_unsent(buf: &mut SampleBuffer<BUFFER>) {
    let mut batch = [Sample::new(0, 0, 0.0, 0.0, 0.0); MAX_BATCH];
    let mut bytes = [0u8; 16 + 20 * MAX_BATCH];
    loop {
        let n = buf.peek_unsent(&mut batch);
        if n == 0 {
            return;
        }
        let len = wire::encode_batch(
            &mut bytes,
            &batch[..n],
            buf.dropped(),
            buf.dropped_unsent(),
            buf.len() as u16,
        );
        match IMU.try_send(&bytes[..len]) {
            Ok(()) => buf.mark_sent(n),
            Err(Error::WouldBlock | Error::NoDestination) => return,
            Err(e) => {
                warn!("batch send failed: {}", e);
                return;
            }
        }
    }
}

#[no_mangle]
extern "C" fn rust_main() {
    // SAFETY: called once, before any other thread logs.
    unsafe { zephyr::set_logger().ok() };
    info!(
        "mcore-rs imu {} on {}",
        env!("CARGO_PKG_VERSION"),
        zephyr::kconfig::CONFIG_BOARD
    );

    let (Ok(bus_a), Ok(bus_g)) = (I2c::alias_imu_i2c(), I2c::alias_imu_i2c()) else {
        error!("no I2C bus: the devicetree needs an imu-i2c alias (see samples/imu/boards)");
        return;
    };
    let mut accel = Fxos8700::new(bus_a, nxp_imu::FXOS8700_ADDR_ADAFRUIT);
    let mut gyro = Fxas21002::new(bus_g, nxp_imu::FXAS21002_ADDR_ADAFRUIT);
    if let Err(e) = accel
        .probe()
        .and_then(|_| accel.configure(AccelRange::G4, Odr::Hz200))
    {
        error!("FXOS8700 at 0x1f: {}", e);
        return;
    }
    if let Err(e) = gyro
        .probe()
        .and_then(|_| gyro.configure(GyroRange::Dps500, GyroOdr::Hz100))
    {
        error!("FXAS21002 at 0x21: {}", e);
        return;
    }
    info!("FXOS8700 (±4 g, 100 Hz hybrid) and FXAS21002 (±500 dps, 100 Hz) ready");

    let rpmsg = match Rpmsg::init() {
        Ok(r) => r,
        Err(e) => {
            error!("rpmsg init failed: {}", e);
            return;
        }
    };
    if let Err(e) = IMU.bind(rpmsg, wire::SERVICE) {
        error!("{}: {}", wire::SERVICE, e);
        return;
    }
    info!(
        "{} endpoint {:#x}: waiting for start",
        wire::SERVICE,
        IMU.addr()
    );

    let mut buf = SampleBuffer::<BUFFER>::new(0);
    let mut link = Link {
        streaming: false,
        heartbeat_lost: false,
        heartbeat_timeout_ms: DEFAULT_HEARTBEAT_TIMEOUT_MS,
        last_heartbeat_ms: 0,
    };
    let mut read_errors = 0u32;
    let mut reported_drops = 0u32;
    let mut tick = 0u32;
    let mut next = uptime_ms();
    loop {
        let now = uptime_ms();
        match (accel.read(), gyro.read()) {
            (Ok(am), Ok(g)) => {
                buf.push(now as u32, norm(am.accel), norm(am.mag), norm(g.dps));
            }
            (a, g) => {
                read_errors += 1;
                if read_errors.is_power_of_two() {
                    warn!(
                        "sensor read failed ({} so far): {:?} {:?}",
                        read_errors,
                        a.err(),
                        g.err()
                    );
                }
            }
        }
        // Log the first drop and then every hundredth.
        if buf.dropped() / 100 != reported_drops / 100 || (reported_drops == 0 && buf.dropped() > 0)
        {
            warn!("buffer full: {} samples dropped so far", buf.dropped());
            reported_drops = buf.dropped();
        }

        while let Ok(msg) = IMU.try_recv() {
            match Command::decode(&msg) {
                Ok(cmd) => link.apply(cmd, &mut buf, now),
                Err(e) => warn!("ignored control message: {}", e),
            }
        }
        link.check_heartbeat(&buf, now);
        tick = tick.wrapping_add(1);
        if link.streaming && !link.heartbeat_lost && tick.is_multiple_of(SAMPLES_PER_SEND) {
            send_unsent(&mut buf);
        }

        next += SAMPLE_PERIOD_MS;
        loop {
            let left = next - uptime_ms();
            if left <= 0 {
                break;
            }
            let _ = rpmsg.poll(Duration::millis(left as _));
        }
    }
}
