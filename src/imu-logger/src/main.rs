//! `imu-logger`: the Linux side of the mcore-rs IMU sample.
//!
//! ```text
//! imu-logger --firmware build/zephyr/zephyr.exe log --csv imu.csv --duration 10   # simulation
//! imu-logger --rpmsg-ctrl /dev/rpmsg_ctrl0 log --csv imu.csv                      # i.MX target
//! imu-logger plot imu.csv -o imu.png
//! ```
//!
//! `log` sends start (with the heartbeat timeout) and a heartbeat every `--heartbeat-ms`,
//! writes each sample once and in order (sequence, timestamp_ms, three norms) and acknowledges
//! it after writing, so the firmware frees only what is on disk. A restarted logger appends to
//! the same CSV and continues after its last sequence number. Gaps (samples the firmware had to
//! drop) are reported on stderr and in the summary, with the firmware's own drop counters:
//! `dropped_unsent` (never sent, so certainly lost) must equal the gaps; `dropped_total` may be
//! larger by samples that were sent but not yet acknowledged when Linux went away.
//!
//! On SIGINT/SIGTERM the logger first takes in, stores and acknowledges what is already on its
//! way, then exits without sending stop: for the firmware, Linux simply went away.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use imu_proto::receiver::{Receiver, Verdict};
use imu_proto::wire::{self, Command};
use rpmsg_host::chardev::CharDevLink;
use rpmsg_host::link::RpmsgLink;
use rpmsg_host::sim::{Firmware, SimTarget};
use rpmsg_host::Error;
use zerocopy::IntoBytes;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args)]
struct Target {
    #[command(flatten)]
    sim: SimTarget,
    /// Real Linux: the rpmsg_char control device (instead of a native_sim firmware).
    #[arg(long, global = true)]
    rpmsg_ctrl: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Stream samples into a CSV file (appends; continues after the last sequence number).
    Log {
        /// CSV file.
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

const HEADER: &str = "sequence,timestamp_ms,accel_norm_m_s2,mag_norm_ut,gyro_norm_dps";

/// The last sequence number in an existing log, if any.
fn last_seq(csv: &Path) -> std::io::Result<Option<u32>> {
    let Ok(f) = std::fs::File::open(csv) else {
        return Ok(None);
    };
    let mut last = None;
    for line in BufReader::new(f).lines() {
        let line = line?;
        if let Some(seq) = line.split(',').next().and_then(|s| s.parse::<u32>().ok()) {
            last = Some(seq);
        }
    }
    Ok(last)
}

fn connect(t: &Target) -> Result<(Box<dyn RpmsgLink>, Option<Firmware>), Error> {
    let timeout = t.sim.timeout();
    if let Some(ctrl) = &t.rpmsg_ctrl {
        return Ok((
            Box::new(CharDevLink::open(ctrl, wire::SERVICE, timeout)?),
            None,
        ));
    }
    let (mut link, fw) = t.sim.attach()?;
    link.wait_channel(wire::SERVICE, timeout)?;
    Ok((Box::new(link), fw))
}

#[derive(Default)]
struct Summary {
    written: u64,
    duplicates: u64,
    lost: u64,
    firmware_dropped: u32,
    firmware_dropped_unsent: u32,
    bad_messages: u64,
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
    let (mut link, _fw) = connect(t)?;
    let resume = last_seq(csv)?;
    let mut rx = resume.map_or_else(Receiver::new, Receiver::resume);
    let new_file = resume.is_none() && std::fs::metadata(csv).map_or(true, |m| m.len() == 0);
    let mut out = BufWriter::new(OpenOptions::new().create(true).append(true).open(csv)?);
    if new_file {
        writeln!(out, "{HEADER}")?;
    }
    match resume {
        Some(s) => eprintln!("appending to {} after sequence {s}", csv.display()),
        None => eprintln!("writing {}", csv.display()),
    }
    let timeout = t.sim.timeout();
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
        let (h, samples) = match wire::decode_batch(&msg) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("ignored message: {e}");
                sum.bad_messages += 1;
                continue;
            }
        };
        sum.firmware_dropped = h.dropped_total.get();
        sum.firmware_dropped_unsent = h.dropped_unsent.get();
        for s in samples {
            match rx.accept(s) {
                Verdict::Duplicate => {
                    sum.duplicates += 1;
                    continue;
                }
                Verdict::AfterGap {
                    first_missing,
                    missing,
                } => {
                    sum.lost += u64::from(missing);
                    eprintln!(
                        "loss: {missing} samples (sequence {first_missing}..={}) dropped by the firmware; \
                         firmware dropped_total {}, never sent {}",
                        s.seq.get().wrapping_sub(1),
                        h.dropped_total.get(),
                        h.dropped_unsent.get()
                    );
                }
                Verdict::New => {}
            }
            writeln!(
                out,
                "{},{},{:.4},{:.3},{:.3}",
                s.seq.get(),
                s.timestamp_ms.get(),
                s.accel.get(),
                s.mag.get(),
                s.gyro.get()
            )?;
            sum.written += 1;
        }
        // On disk first, then acknowledged: the firmware frees only what is stored.
        out.flush()?;
        if let Some(seq) = rx.ack_seq() {
            link.send(
                wire::SERVICE,
                Command::Ack { seq }.encode().as_bytes(),
                timeout,
            )?;
        }
    }
    out.flush()?;
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
                         dropped_unsent {}, bad messages {}",
                        s.written,
                        s.duplicates,
                        s.lost,
                        s.firmware_dropped,
                        s.firmware_dropped_unsent,
                        s.bad_messages
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
