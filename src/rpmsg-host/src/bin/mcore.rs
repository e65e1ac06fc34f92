//! `mcore`: the Linux-side command-line tool of mcore-rs.
//!
//! ```text
//! mcore check-elf build/zephyr/zephyr.elf
//! mcore --firmware build/zephyr/zephyr.exe echo rpmsg-client-sample -n 100 --min 1 --max 496
//! mcore --ipc /tmp/mcore-rs.ipc.0 --shm mcore-rs.shm list
//! ```

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rpmsg_host::bus::Event;
use rpmsg_host::link::{RpmsgLink, SimLink};
use rpmsg_host::sim::SimTarget;
use rpmsg_host::Error;

/// Linux-side tool for mcore-rs RPMsg firmware: check firmware ELFs, and talk RPMsg to a
/// firmware running on native_sim (started here or already running).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    target: SimTarget,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check the .resource_table of firmware ELF files as Linux remoteproc reads it.
    CheckElf {
        /// zephyr.elf files.
        #[arg(required = true)]
        elf: Vec<PathBuf>,
    },
    /// Attach and list the channels the firmware announced.
    List,
    /// Send N messages with sizes spread evenly over min..=max on a channel; check that each reply
    /// is byte-identical and in order.
    Echo {
        /// Channel name.
        channel: String,
        /// Number of messages.
        #[arg(short = 'n', long, default_value_t = 100)]
        count: u32,
        /// Smallest payload in bytes.
        #[arg(long, default_value_t = 1)]
        min: usize,
        /// Largest payload in bytes (496 at most).
        #[arg(long, default_value_t = 496)]
        max: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Send one message (text) on a channel and print the reply.
    Send {
        /// Channel name.
        channel: String,
        /// Text to send.
        text: String,
        /// Do not wait for a reply.
        #[arg(long)]
        no_reply: bool,
    },
    /// Interactive: each stdin line is sent on the channel; received messages are printed.
    Cat {
        /// Channel name.
        channel: String,
    },
}

fn print_channels(link: &mut SimLink) -> Result<(), Error> {
    for ch in link.channels()? {
        println!(
            "channel {:<24} remote {:#06x} local {:#06x}",
            ch.name, ch.remote, ch.local
        );
    }
    Ok(())
}

fn log_events(link: &mut SimLink) {
    for e in link.events() {
        if let Event::Violation(v) = e {
            eprintln!("protocol violation: {v}");
        }
    }
}

fn payload(i: u32, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i as usize * 31 + k) as u8).collect()
}

fn run(cli: Cli) -> Result<(), Error> {
    let t = &cli.target;
    let timeout = t.timeout();
    match cli.cmd {
        Cmd::CheckElf { elf } => {
            let mut failed = 0;
            for path in elf {
                match rpmsg_host::elf::check_elf(&path) {
                    Ok(r) => {
                        let [v0, v1] = r.vdev.vrings;
                        println!(
                            "{}: resource table OK at {:#x} ({} bytes): rpmsg vdev, features {:#x}, \
                             vring0 num {} align {}, vring1 num {} align {}",
                            path.display(),
                            r.address,
                            r.size,
                            r.vdev.dfeatures,
                            v0.num.get(),
                            v0.align.get(),
                            v1.num.get(),
                            v1.align.get()
                        );
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                return Err(Error::Io(std::io::Error::other(format!(
                    "{failed} ELF file(s) failed"
                ))));
            }
        }
        Cmd::List => {
            let (mut link, _fw) = t.attach()?;
            // Give the firmware a moment to announce after a fresh start.
            let _ = link.wait_channel("\0none", Duration::from_millis(500).min(timeout));
            print_channels(&mut link)?;
        }
        Cmd::Echo {
            channel,
            count,
            min,
            max,
            quiet,
        } => {
            let (mut link, _fw) = t.attach()?;
            link.wait_channel(&channel, timeout)?;
            print_channels(&mut link)?;
            let bar = if quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(count as u64)
            };
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} {msg}")
                    .expect("template"),
            );
            let (min, max) = (min.max(1), max.max(min.max(1)));
            let start = Instant::now();
            let mut bytes = 0usize;
            for i in 0..count {
                let len = min + (i as usize * (max - min)) / (count.max(2) as usize - 1);
                let data = payload(i, len);
                link.send(&channel, &data, timeout)?;
                let back = link.recv(&channel, timeout)?;
                if back != data {
                    bar.abandon();
                    return Err(Error::Io(std::io::Error::other(format!(
                        "echo mismatch at message {i}: sent {len} bytes, got {} bytes",
                        back.len()
                    ))));
                }
                bytes += len;
                bar.inc(1);
            }
            bar.finish_and_clear();
            log_events(&mut link);
            let secs = start.elapsed().as_secs_f64();
            println!(
                "echo {channel}: {count} messages, {min}..{max} bytes, all identical and in order; \
                 {:.0} round trips/s, {:.0} bytes/s",
                count as f64 / secs,
                2.0 * bytes as f64 / secs
            );
        }
        Cmd::Send {
            channel,
            text,
            no_reply,
        } => {
            let (mut link, _fw) = t.attach()?;
            link.wait_channel(&channel, timeout)?;
            link.send(&channel, text.as_bytes(), timeout)?;
            if !no_reply {
                let back = link.recv(&channel, timeout)?;
                println!("{}", String::from_utf8_lossy(&back));
            }
            log_events(&mut link);
        }
        Cmd::Cat { channel } => {
            let (mut link, _fw) = t.attach()?;
            link.wait_channel(&channel, timeout)?;
            let (tx, rx) = std::sync::mpsc::channel::<String>();
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut out = std::io::stdout();
            loop {
                match rx.try_recv() {
                    Ok(line) => link.send(&channel, line.as_bytes(), timeout)?,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                    Err(std::sync::mpsc::TryRecvError::Empty) => {}
                }
                match link.recv(&channel, Duration::from_millis(20)) {
                    Ok(m) => {
                        writeln!(out, "{}", String::from_utf8_lossy(&m))?;
                        out.flush()?;
                    }
                    Err(Error::TimedOut) => {}
                    Err(e) => return Err(e),
                }
                log_events(&mut link);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
