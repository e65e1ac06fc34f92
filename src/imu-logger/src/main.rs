//! `imu-logger`: the Linux side of the mcore-rs IMU sample.
//!
//! ```text
//! imu-logger log --csv imu.csv --duration 10          # on Linux: i.MX target or User-Mode Linux
//! imu-logger --rpmsg-ctrl /dev/rpmsg_ctrl1 log --csv imu.csv
//! imu-logger plot imu.csv -o imu.png
//! ```
//!
//! `log` sends start (with the heartbeat timeout) and a heartbeat every `--heartbeat-ms`,
//! writes each sample once and in order (sequence, timestamp_ms, three norms) and acknowledges
//! it only once it is on disk (written, flushed, `fdatasync`ed), so the firmware frees only what
//! survives a Linux crash. A restarted logger appends to the same CSV and continues after its
//! last sequence number, as long as the firmware has not restarted. Gaps (samples the firmware
//! had to drop) are reported on stderr and in the summary, with the firmware's own drop
//! counters: `dropped_unsent` (never sent, so certainly lost) must equal the gaps;
//! `dropped_total` may be larger by samples that were sent but not yet acknowledged when Linux
//! went away.
//!
//! # Firmware restarts: one CSV per boot
//!
//! Every batch carries the firmware's boot id (random, chosen once per boot); sequence numbers
//! start over at each boot. With `--csv imu.csv`:
//!
//! * `imu.csv` is the log of the current boot, and `imu.csv.boot` holds its boot id
//!   (`boot_id=1a2b3c4d`). The CSV itself stays plain: row 0 is the header, then samples.
//! * When batches of a new boot arrive, `imu.csv` is closed and renamed `imu.<old boot
//!   id>.csv` (e.g. `imu.1a2b3c4d.csv`, `-2`, `-3`, … added rather than overwrite anything), and
//!   the new boot's samples go to a fresh `imu.csv`. Nothing is counted as duplicate or lost
//!   across the restart.
//! * A restarted logger resumes `imu.csv` only for the boot named in `imu.csv.boot`; a log with
//!   samples but no boot file (from the version-1 logger) is moved to `imu.unknown-boot.csv`.
//!
//! Details in [`store`].
//!
//! # Cost of acknowledging only what is on disk
//!
//! One commit (flush, then `fdatasync`) per batch, before its ack: 10 per second at 100 Hz with
//! 100 ms batches of 10, plus up to 30 in a burst when the firmware resends its 3 s buffer after
//! an outage. Measured with `cargo test -p imu-logger --release -- --ignored --nocapture
//! fsync_cost` (200 batches of 10 rows, ext4 on a virtio disk): 1.2 to 2.2 ms per batch, so the
//! logger waits in `fdatasync` for about 2 % of the time; strace shows one `fdatasync` per batch,
//! after its `write`. Not measured on an eMMC or SD card: expect a few ms to tens of ms there, still
//! below the 100 ms between batches; the acks, and so the firmware's buffer, lag by as much.
//!
//! On SIGINT/SIGTERM the logger first takes in, stores and acknowledges what is already on its
//! way, then exits without sending stop: for the firmware, Linux simply went away.

mod store;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use imu_proto::wire::{self, Command};
use rpmsg_host::link::{RpmsgLink, Target};
use rpmsg_host::Error;
use store::{CsvLog, SampleLog, Summary};
use zerocopy::IntoBytes;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Stream samples into a CSV file, one file per firmware boot.
    ///
    /// Appends to the CSV and continues after its last sequence number when the firmware is
    /// still in the same boot. The boot id of the CSV is kept next to it in `<CSV>.boot`
    /// (`boot_id=1a2b3c4d`). When the firmware has restarted (a new boot id, sequence numbers
    /// start over), the CSV is closed and renamed with the old boot id, e.g. `imu.csv` ->
    /// `imu.1a2b3c4d.csv` (`-2`, `-3`, ... added rather than overwrite), and the new boot's
    /// samples go to a fresh CSV. A CSV with samples but no `<CSV>.boot` is renamed with
    /// `unknown-boot` instead of a boot id (`imu.unknown-boot.csv`). Samples are acknowledged only once written and fsynced.
    Log {
        /// CSV file of the current boot (header row, then one row per sample).
        #[arg(long)]
        csv: PathBuf,
        /// Stop after this many seconds (default: until SIGINT/SIGTERM).
        #[arg(long)]
        duration: Option<f64>,
        /// Heartbeat period in ms.
        #[arg(long, default_value_t = 200)]
        heartbeat_ms: u64,
        /// Heartbeat timeout in ms the firmware applies (sent with start).
        #[arg(long, default_value_t = 1000)]
        heartbeat_timeout_ms: u32,
    },
    /// Plot a CSV log to PNG: |accel| (m/s²), |mag| (µT), |gyro| (dps) over time, top to bottom.
    Plot {
        /// CSV file written by `log`.
        csv: PathBuf,
        /// PNG output.
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn log(
    t: &Target,
    csv: &Path,
    duration: Option<f64>,
    hb: Duration,
    hb_timeout_ms: u32,
) -> Result<Summary, Error> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let mut link = t.open(wire::SERVICE)?;
    let (mut store, mut rx) = CsvLog::open(csv)?;
    let timeout = t.timeout();
    link.send(
        wire::SERVICE,
        Command::Start {
            heartbeat_timeout_ms: hb_timeout_ms,
        }
        .encode()
        .as_bytes(),
        timeout,
    )?;
    let end = duration.map(|d| Instant::now() + Duration::from_secs_f64(d));
    let mut next_hb = Instant::now() + hb;
    let mut sum = Summary::default();
    let mut draining_since: Option<Instant> = None;
    loop {
        let running = !stop.load(Ordering::Relaxed) && end.is_none_or(|e| Instant::now() < e);
        if !running && draining_since.is_none() {
            draining_since = Some(Instant::now());
        }
        if running && Instant::now() >= next_hb {
            link.send(
                wire::SERVICE,
                Command::Heartbeat.encode().as_bytes(),
                timeout,
            )?;
            next_hb += hb;
        }
        let msg = match link.recv(wire::SERVICE, Duration::from_millis(20)) {
            Ok(m) => m,
            // Draining: done once nothing more arrives for 100 ms.
            Err(Error::TimedOut)
                if draining_since.is_some_and(|d| d.elapsed() > Duration::from_millis(100)) =>
            {
                break
            }
            Err(Error::TimedOut) => continue,
            Err(e) => return Err(e),
        };
        if let Some(d) = draining_since.as_mut() {
            *d = Instant::now();
        }
        let batch = match wire::decode_batch(&msg) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("ignored message: {e}");
                sum.bad_messages += 1;
                continue;
            }
        };
        // Rows written and fsynced, then acked (see `store::store_batch`).
        store::store_batch(&mut rx, &mut store, &batch, &mut sum, |ack| {
            link.send(wire::SERVICE, ack.encode().as_bytes(), timeout)
        })?;
    }
    store.commit()?;
    Ok(sum)
}

fn plot(csv: &Path, png: &Path) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let mut rows: Vec<[f64; 4]> = Vec::new();
    for line in BufReader::new(std::fs::File::open(csv)?).lines().skip(1) {
        let line = line?;
        let f: Vec<f64> = line
            .split(',')
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() == 4 {
            rows.push([f[0] / 1000.0, f[1], f[2], f[3]]);
        }
    }
    if rows.is_empty() {
        return Err(format!("{}: no samples", csv.display()).into());
    }
    let root = BitMapBackend::new(png, (1000, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let (t0, t1) = (rows[0][0], rows[rows.len() - 1][0].max(rows[0][0] + 1e-3));
    let colors = [RED, BLUE, GREEN];
    for (i, area) in root.split_evenly((3, 1)).iter().enumerate() {
        let col = i + 1;
        let lo = rows.iter().map(|r| r[col]).fold(f64::INFINITY, f64::min);
        let hi = rows
            .iter()
            .map(|r| r[col])
            .fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.1).max(0.5);
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .build_cartesian_2d(t0..t1, (lo - pad)..(hi + pad))?;
        chart.plotting_area().fill(&RGBColor(248, 248, 248))?;
        chart.draw_series(LineSeries::new(
            rows.iter().map(|r| (r[0], r[col])),
            &colors[i],
        ))?;
    }
    root.present()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Log {
            ref csv,
            duration,
            heartbeat_ms,
            heartbeat_timeout_ms,
        } => {
            match log(
                &cli.target,
                csv,
                duration,
                Duration::from_millis(heartbeat_ms),
                heartbeat_timeout_ms,
            ) {
                Ok(s) => {
                    println!(
                        "summary: written {}, duplicates {}, lost {}, firmware dropped_total {}, \
                         dropped_unsent {}, bad messages {}, firmware restarts {}",
                        s.written,
                        s.duplicates,
                        s.lost,
                        s.firmware_dropped,
                        s.firmware_dropped_unsent,
                        s.bad_messages,
                        s.restarts
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Plot { csv, output } => match plot(&csv, &output) {
            Ok(()) => {
                println!("wrote {}", output.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
