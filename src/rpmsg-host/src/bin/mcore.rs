//! `mcore`: the Linux-side command-line tool of mcore-rs.
//!
//! ```text
//! mcore check-elf build/zephyr/zephyr.elf
//! mcore list                                   # on Linux: an i.MX target, or User-Mode Linux
//! mcore echo rpmsg-client-sample -n 100 --min 1 --max 496
//! mcore --rpmsg-ctrl /dev/rpmsg_ctrl1 send rpmsg-tty hello
//! ```

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rpmsg_host::chardev::{channels_in, CharDevLink};
use rpmsg_host::link::{wait_channel, RpmsgLink, Target};
use rpmsg_host::Error;

/// Linux-side tool for mcore-rs RPMsg firmware: check firmware ELFs, and talk RPMsg to the
/// firmware through the kernel's rpmsg_char (on an i.MX target, or in User-Mode Linux on a PC).
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
    /// Check the .resource_table of firmware ELF files as Linux remoteproc reads it; with
    /// --board, also apply Linux imx_rproc's load rules with the board's Linux devicetree
    /// overlay (linux/dts/), failures in the kernel's words.
    CheckElf {
        /// zephyr.elf files.
        #[arg(required = true)]
        elf: Vec<PathBuf>,
        /// Board whose Linux loads the firmware: imx95_evk, colibri_imx7d, pico_pi, warp7,
        /// 96b_meerkat96 (or the Zephyr target, e.g. imx95_evk/mimx9596/m7). Needs dtc.
        #[arg(long)]
        board: Option<String>,
        /// Linux devicetree overlay to use instead of the board's shipped one: a .dtbo, or a
        /// source that dtc compiles.
        #[arg(long, requires = "board")]
        overlay: Option<PathBuf>,
    },
    /// List the channels the firmware announced (sysfs), waiting up to --timeout for
    /// `--wait <channel>` first.
    List {
        /// Wait for this channel before listing.
        #[arg(long)]
        wait: Option<String>,
    },
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
        /// Expect each reply to be `TTY 0x<remote address>: ` (12 bytes) followed by the
        /// message, as the rpmsg-tty responders of the echo sample and of Zephyr's
        /// openamp_rsc_table sample send it (so at most 484-byte messages).
        #[arg(long)]
        tty_prefix: bool,
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

fn print_channels() -> Result<(), Error> {
    for ch in channels_in(Path::new("/sys"))? {
        println!(
            "channel {:<24} remote {:#06x} local {:#06x}",
            ch.name, ch.remote, ch.local
        );
    }
    Ok(())
}

fn payload(i: u32, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i as usize * 31 + k) as u8).collect()
}

/// `check-elf --board`: Linux imx_rproc's load rules (crate imx-rproc). Prints what Linux would
/// do, or every failure in the kernel's words; `Ok(false)` when Linux would refuse.
fn linux_loads(board: &str, overlay: Option<&Path>, elf: &Path) -> Result<bool, Error> {
    let verdict = imx_rproc::check_elf(board, overlay, elf)
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    let against = match overlay {
        Some(o) => o.display().to_string(),
        None => imx_rproc::boards::find(board)
            .map_or("?", |b| b.overlay_file)
            .to_string(),
    };
    match verdict {
        imx_rproc::Verdict::Loads(r) => {
            println!(
                "{}: Linux on {board} ({against}) loads and starts it:",
                elf.display()
            );
            for n in r.notes {
                println!("  {n}");
            }
            Ok(true)
        }
        imx_rproc::Verdict::Refused(findings) => {
            for f in findings {
                eprintln!(
                    "error: {}: Linux on {board} ({against}): {f}",
                    elf.display()
                );
            }
            Ok(false)
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let t = &cli.target;
    let timeout = t.timeout();
    match cli.cmd {
        Cmd::CheckElf {
            elf,
            board,
            overlay,
        } => {
            let mut failed = 0;
            for path in elf {
                if let Some(board) = &board {
                    if !linux_loads(board, overlay.as_deref(), &path)? {
                        failed += 1;
                    }
                }
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
        Cmd::List { wait } => {
            if let Some(name) = wait {
                wait_channel(Path::new("/sys"), &name, timeout)?;
            }
            print_channels()?;
        }
        Cmd::Echo {
            channel,
            count,
            min,
            max,
            quiet,
            tty_prefix,
        } => {
            let mut link = t.open(&channel)?;
            let prefix = if tty_prefix {
                let remote = channels_in(Path::new("/sys"))?
                    .into_iter()
                    .find(|c| c.name == channel)
                    .ok_or_else(|| Error::NoSuchChannel(channel.clone()))?
                    .remote;
                format!("TTY {remote:#06x}: ").into_bytes()
            } else {
                Vec::new()
            };
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
                if back.len() != prefix.len() + len
                    || back[..prefix.len()] != prefix[..]
                    || back[prefix.len()..] != data[..]
                {
                    bar.abandon();
                    return Err(Error::Io(std::io::Error::other(format!(
                        "echo mismatch at message {i}: sent {len} bytes, got {} bytes{}",
                        back.len(),
                        if tty_prefix {
                            format!(
                                " (expected {:?} + the message)",
                                String::from_utf8_lossy(&prefix)
                            )
                        } else {
                            String::new()
                        }
                    ))));
                }
                bytes += 2 * len + prefix.len();
                bar.inc(1);
            }
            bar.finish_and_clear();
            let secs = start.elapsed().as_secs_f64();
            println!(
                "echo {channel}: {count} messages, {min}..{max} bytes, all identical and in order{}; \
                 {:.0} round trips/s, {:.0} bytes/s",
                if tty_prefix {
                    format!(" after {:?}", String::from_utf8_lossy(&prefix))
                } else {
                    String::new()
                },
                count as f64 / secs,
                bytes as f64 / secs
            );
        }
        Cmd::Send {
            channel,
            text,
            no_reply,
        } => {
            let mut link: CharDevLink = t.open(&channel)?;
            link.send(&channel, text.as_bytes(), timeout)?;
            if !no_reply {
                let back = link.recv(&channel, timeout)?;
                println!("{}", String::from_utf8_lossy(&back));
            }
        }
        Cmd::Cat { channel } => {
            let mut link: CharDevLink = t.open(&channel)?;
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
