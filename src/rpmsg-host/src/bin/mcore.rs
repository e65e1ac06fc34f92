//! `mcore`: the Linux-side command-line tool of mcore-rs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Linux-side tool for mcore-rs RPMsg firmware.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::CheckElf { elf } => {
            let mut ok = true;
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
                        ok = false;
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
