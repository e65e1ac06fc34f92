//! Command-line plumbing shared by the host programs (`mcore`, `imu-logger`) for a firmware
//! running on native_sim: start it or attach to a running one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::link::SimLink;
use crate::Result;

/// Default kick socket of the native_sim overlay (`socket-path`).
pub const DEFAULT_IPC: &str = "/tmp/mcore-rs.ipc.0";
/// Default shared-memory object of the native_sim overlay (`shm-name`).
pub const DEFAULT_SHM: &str = "mcore-rs.shm";

/// Where the native_sim firmware is: options of every host program.
#[derive(clap::Args, Debug, Clone)]
pub struct SimTarget {
    /// Start this native_sim firmware (zephyr.exe) with a private socket and shm object, and
    /// stop it on exit.
    #[arg(long, global = true)]
    pub firmware: Option<PathBuf>,
    /// Kick socket of the firmware (its --mcore-ipc).
    #[arg(long, global = true)]
    pub ipc: Option<PathBuf>,
    /// POSIX shared-memory object of the firmware (its --mcore-shm).
    #[arg(long, global = true)]
    pub shm: Option<String>,
    /// Seconds to wait for the firmware, its resource table and channels.
    #[arg(long, global = true, default_value_t = 10.0)]
    pub timeout: f64,
    /// Device address of the first shared-memory byte as the firmware sees it (its shm node's
    /// phys-base): 0 for this project's overlay, 0x70000000 for firmware mapping it 1:1.
    #[arg(long, global = true, default_value = "0", value_parser = parse_addr)]
    pub phys_base: u64,
}

fn parse_addr(s: &str) -> std::result::Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s}: {e}"))
}

/// A firmware process started by [`SimTarget::attach`]; killed when dropped.
pub struct Firmware(Child);

impl Drop for Firmware {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl SimTarget {
    /// `--timeout` as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    /// Starts the firmware when `--firmware` is given (real time, exits when the host closes
    /// its connection, console in `$TMPDIR/<shm>.log`), then attaches to it.
    ///
    /// # Errors
    /// Process start and attach errors ([`SimLink::attach`]).
    pub fn attach(&self) -> Result<(SimLink, Option<Firmware>)> {
        let id = std::process::id();
        let (ipc, shm) = match (&self.firmware, &self.ipc, &self.shm) {
            (Some(_), ipc, shm) => (
                ipc.clone()
                    .unwrap_or_else(|| PathBuf::from(format!("/tmp/mcore-{id}.ipc"))),
                shm.clone().unwrap_or_else(|| format!("mcore-{id}.shm")),
            ),
            (None, ipc, shm) => (
                ipc.clone().unwrap_or_else(|| DEFAULT_IPC.into()),
                shm.clone().unwrap_or_else(|| DEFAULT_SHM.into()),
            ),
        };
        let fw = match &self.firmware {
            Some(exe) => {
                let log = std::fs::File::create(std::env::temp_dir().join(format!("{shm}.log")))?;
                let child = Command::new(exe)
                    .arg("--rt")
                    .arg(format!("--mcore-ipc={}", ipc.display()))
                    .arg(format!("--mcore-shm={shm}"))
                    .arg("--mcore-exit-on-close")
                    .stdin(Stdio::null())
                    .stdout(log.try_clone()?)
                    .stderr(log)
                    .spawn()?;
                Some(Firmware(child))
            }
            None => None,
        };
        let link = SimLink::attach_at(&ipc, &shm, self.timeout(), self.phys_base)?;
        eprintln!(
            "attached to {} / {} ({})",
            ipc.display(),
            shm,
            if link.resumed() {
                "resumed earlier host state"
            } else {
                "new vdev"
            }
        );
        Ok((link, fw))
    }
}
