//! mcore-rs IMU: an Adafruit Precision NXP 9-DOF (FXOS8700 + FXAS21002) on Zephyr I2C,
//! streamed to Linux over RPMsg so that no sample is lost when Linux goes away and comes back.
//!
//! * From boot, link up or down (on i.MX 95 the System Manager starts the M7 before Linux):
//!   every 10 ms read both chips, compute |accel| (m/s²), |mag| (µT), |gyro| (dps), push
//!   (sequence number, uptime ms, three norms) into a buffer of
//!   `CONFIG_MCORE_RS_IMU_BUFFER_SAMPLES` entries (default 300 = 3 s).
//! * Every 100 ms, while Linux is there: send the unsent samples in batches of 10 on the
//!   `mcore-imu` channel.
//! * Linux controls the stream on the same channel: start (with the heartbeat timeout),
//!   stop, heartbeat, ack. Batches go to the address the last control message came from. No
//!   heartbeat for the timeout, or the link down (a new Linux reset the vdev) → stop sending,
//!   keep sampling and buffering; Linux back (start or heartbeat) → resend from the oldest
//!   unacknowledged sample.
//! * Only acknowledged samples are freed. A full buffer drops its oldest sample and counts it;
//!   the count travels in every batch header and shows as a gap in sequence numbers.

#![no_std]

use imu_proto::buffer::SampleBuffer;
use imu_proto::wire::{self, Command, Sample, MAX_BATCH};
use log::{error, info, warn};
use nxp_imu::{norm, AccelRange, Fxas21002, Fxos8700, GyroOdr, GyroRange, Odr};
use zephyr_mcore::i2c::I2c;
use zephyr_mcore::rpmsg::{Endpoint, Rpmsg};
use zephyr_mcore::Error;

/// Control messages in, batches out. Up to 64 held: after a resend of the whole buffer Linux
/// acknowledges every batch at once (60 with 600 samples), and a dropped ack would leave
/// stored samples unacknowledged.
static IMU: Endpoint<64> = Endpoint::new();

const SAMPLE_PERIOD_MS: i64 = 10;
const SAMPLES_PER_SEND: u32 = 10;
/// Buffered samples (`CONFIG_MCORE_RS_IMU_BUFFER_SAMPLES`, 20 bytes each).
const BUFFER: usize = zephyr::kconfig::CONFIG_MCORE_RS_IMU_BUFFER_SAMPLES as usize;
const DEFAULT_HEARTBEAT_TIMEOUT_MS: u32 = 1000;

fn uptime_ms() -> i64 {
    // SAFETY: k_uptime_get() has no preconditions.
    unsafe { zephyr::raw::k_uptime_get() }
}

/// What Linux asked for.
struct Link {
    /// Where batches go: the source of the last control message.
    dest: u32,
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
            Command::Ack { boot_id, seq } => {
                if let Err(e) = buf.ack(boot_id, seq) {
                    warn!("{}", e);
                }
            }
        }
    }

    fn check_heartbeat(&mut self, buf: &mut SampleBuffer<BUFFER>, now: i64) {
        if self.streaming
            && !self.heartbeat_lost
            && now - self.last_heartbeat_ms > i64::from(self.heartbeat_timeout_ms)
        {
            self.heartbeat_lost = true;
            buf.unconfirm();
            warn!(
                "heartbeat lost: stop sending, buffering ({} samples)",
                buf.len()
            );
        }
    }
}

/// Sends every unsent sample in batches of up to 10 to `dest`, until none is left or no
/// buffer is free.
fn send_unsent(buf: &mut SampleBuffer<BUFFER>, dest: u32) {
    let mut batch = [Sample::new(0, 0, 0.0, 0.0, 0.0); MAX_BATCH];
    let mut bytes = [0u8; wire::MAX_BATCH_LEN];
    loop {
        let n = buf.peek_unsent(&mut batch);
        if n == 0 {
            return;
        }
        let len = wire::encode_batch(&mut bytes, &batch[..n], &buf.batch_info());
        match IMU.try_send_to(&bytes[..len], dest) {
            Ok(()) => buf.mark_sent(n),
            Err(Error::WouldBlock | Error::NoDestination | Error::LinkDown) => return,
            Err(e) => {
                warn!("batch send failed: {}", e);
                return;
            }
        }
    }
}

/// 32 bits that differ from boot to boot, for the boot identifier in every batch (so that
/// Linux tells a firmware restart from repeated samples): the `zephyr,entropy` device where
/// the image has one (native_sim with `--seed-random`), else the low bits of the sensors' own
/// noise over a few readings and the cycle counter.
fn boot_random(accel: &mut Fxos8700<I2c>, gyro: &mut Fxas21002<I2c>) -> u32 {
    if let Ok(r) = zephyr_mcore::entropy_u32() {
        return r;
    }
    // FNV-1a over the raw bits.
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |v: u32| {
        for b in v.to_le_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    };
    for _ in 0..8 {
        if let (Ok(a), Ok(g)) = (accel.read(), gyro.read()) {
            for v in a.accel.iter().chain(&a.mag).chain(&g.dps) {
                mix(v.to_bits());
            }
        }
        // SAFETY: k_cycle_get_32() has no preconditions.
        mix(unsafe { zephyr::raw::k_cycle_get_32() });
    }
    h
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
        "{}: sampling; {} samples buffered for Linux",
        wire::SERVICE,
        BUFFER
    );

    let boot_id = wire::boot_id(boot_random(&mut accel, &mut gyro));
    info!("boot id {:08x}", boot_id);
    static mut BUF: SampleBuffer<BUFFER> = SampleBuffer::new(wire::boot_id(1), 0);
    // SAFETY: rust_main runs once, and this is the only reference to BUF ever made.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(BUF) };
    *buf = SampleBuffer::new(boot_id, 0);
    let mut link = Link {
        dest: zephyr_mcore::rpmsg::RPMSG_ADDR_ANY,
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
                Ok(cmd) => {
                    link.dest = msg.src();
                    link.apply(cmd, buf, now);
                }
                Err(e) => warn!("ignored control message: {}", e),
            }
        }
        if link.streaming && !rpmsg.is_up() {
            link.streaming = false;
            buf.unconfirm();
            warn!("link down: stop sending, buffering ({} samples)", buf.len());
        }
        link.check_heartbeat(buf, now);
        tick = tick.wrapping_add(1);
        if link.streaming && !link.heartbeat_lost && tick.is_multiple_of(SAMPLES_PER_SEND) {
            send_unsent(buf, link.dest);
        }

        next += SAMPLE_PERIOD_MS;
        let left = next - uptime_ms();
        if left > 0 {
            zephyr::time::sleep(zephyr::time::Duration::millis(left as _));
        }
    }
}
