//! `mcore-vdev`: the vhost-user backend between a User-Mode Linux and the `native_sim`
//! firmware. See the `sim_vdev` crate documentation for the protocols.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use vhost::vhost_user::{BackendReqHandler, Error as VuError, Listener};

use rpmsg_proto::rsc::RpmsgVdev;
use sim_vdev::device::Device;
use sim_vdev::fw::{kind, Link, DEFAULT_IPC};
use sim_vdev::table::SharedTable;
use sim_vdev::uml;
use vhost::vhost_user::VhostUserBackendReqHandlerMut;

/// vhost-user backend between a User-Mode Linux and the mcore-rs native_sim firmware.
///
/// Connects to the firmware, then listens for UML (virtio_uml, device id 7 = rpmsg), one Linux
/// after another: hands each Linux's memory to the firmware, writes into the firmware's resource
/// table what Linux remoteproc would, and relays kicks. Exits 0 on SIGTERM/SIGINT, 1 when the
/// firmware goes away. RUST_LOG=debug logs every request.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// vhost-user socket to listen on; boot UML with `virtio_uml.device=<SOCKET>:7`
    #[arg(short, long)]
    socket: PathBuf,
    /// The firmware's SOCK_SEQPACKET socket (`zephyr.exe --mcore-ipc=...`); connected to,
    /// retrying for up to 10 s
    #[arg(long, value_name = "PATH", default_value = DEFAULT_IPC)]
    ipc: PathBuf,
    /// Append each vhost-user request (name and decoded fields) to FILE as one JSON line
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = run(&Args::parse()) {
        log::error!("{e:#}");
        std::process::exit(1);
    }
}

type Conn = BackendReqHandler<Mutex<Device>>;

fn run(args: &Args) -> Result<()> {
    let link = Link::connect(&args.ipc, Duration::from_secs(10))
        .with_context(|| format!("connecting to the firmware at {}", args.ipc.display()))?;
    let (msg, fd) = link
        .recv()?
        .context("the firmware closed the connection before sending its resource table")?;
    let (Some(fd), kind::RSC) = (fd, msg.kind.get()) else {
        bail!(
            "the firmware's first message is kind {}, not RSC with an fd",
            msg.kind
        );
    };
    let len = usize::try_from(msg.arg.get()).context("resource table size")?;
    let table = SharedTable::map(&File::from(fd), len).context("mapping the resource table")?;
    let vdev = RpmsgVdev::find(&table.snapshot())
        .context("the firmware's resource table cannot serve Linux")?;
    log::info!(
        "firmware at {}: resource table of {len} bytes, RPMsg vdev at offset {}, dfeatures {:#x}",
        args.ipc.display(),
        vdev.vdev_offset,
        vdev.dfeatures
    );
    let record = args
        .record
        .as_ref()
        .map(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("--record {}", p.display()))
        })
        .transpose()?;
    let dev = Arc::new(Mutex::new(Device::new(link, table, record)));
    // From here on SIGTERM/SIGINT end the program cleanly (exit 0); before, they just kill it.
    let (mut signals, sig_w) = UnixStream::pair()?;
    for s in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::low_level::pipe::register(s, sig_w.try_clone()?)?;
    }

    let listener = Listener::new(&args.socket, true)
        .with_context(|| format!("listening on {}", args.socket.display()))?;
    log::info!(
        "waiting for Linux: virtio_uml.device={}:7",
        args.socket.display()
    );
    let mut conn: Option<Conn> = None;
    loop {
        // Raw fds: the device's fds are only replaced or closed by handle_request() and
        // disconnect(), which run after the poll results have been used for them.
        let (link_fd, kicks) = {
            let d = dev.lock().unwrap();
            (d.link().as_fd().as_raw_fd(), d.kick_fds())
        };
        let main_fd = match &conn {
            Some(c) => c.as_raw_fd(),
            None => listener.as_raw_fd(),
        };
        let mut raw = vec![signals.as_raw_fd(), link_fd, main_fd];
        raw.extend(kicks.iter().map(|&(_, fd)| fd));
        let mut fds: Vec<PollFd<'_>> = raw
            .iter()
            .map(|&fd| {
                // SAFETY: every fd in `raw` is owned by `signals`, the device, the connection
                // or the listener, all alive and unchanged until the poll results are used.
                PollFd::new(unsafe { BorrowedFd::borrow_raw(fd) }, PollFlags::POLLIN)
            })
            .collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("poll"),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);

        if ready[0] {
            let mut b = [0u8; 16];
            let _ = signals.read(&mut b);
            log::info!("signal received; exiting");
            return Ok(());
        }
        if ready[1] && !dev.lock().unwrap().firmware_message()? {
            bail!("the firmware closed the connection");
        }
        for (&(vring, _), _) in kicks.iter().zip(&ready[3..]).filter(|(_, &r)| r) {
            if let Err(e) = dev.lock().unwrap().forward_kick(vring) {
                log::warn!("kick of vring {vring}: {e}");
            }
        }
        if !ready[2] {
            continue;
        }
        match conn.as_mut() {
            None => {
                if let Some(stream) = listener.accept()? {
                    conn = Some(BackendReqHandler::from_stream(stream, dev.clone()));
                }
            }
            Some(c) => match serve_uml_set_mem_table(c.as_raw_fd(), &dev)
                .map_err(VuError::ReqHandlerError)
                .and_then(|taken| if taken { Ok(()) } else { c.handle_request() })
            {
                Ok(()) => {}
                Err(e) => {
                    match e {
                        VuError::Disconnected | VuError::PartialMessage => {
                            log::info!("Linux closed the connection")
                        }
                        e => log::error!("dropping the Linux connection: {e}"),
                    }
                    conn = None;
                    dev.lock().unwrap().disconnect();
                }
            },
        }
    }
}

/// Serves UML's oversized `SET_MEM_TABLE` (see [`sim_vdev::uml`]) with the device's own
/// handler; `false` when the next message is anything else (the library reads it).
fn serve_uml_set_mem_table(
    fd: std::os::fd::RawFd,
    dev: &Arc<Mutex<Device>>,
) -> std::io::Result<bool> {
    let Some(t) = uml::take_set_mem_table(fd)? else {
        return Ok(false);
    };
    let r = dev.lock().unwrap().set_mem_table(&t.regions, t.files, None);
    if t.need_reply {
        uml::reply(fd, r.is_ok())?;
    }
    r.map(|_| true)
        .map_err(|e| std::io::Error::other(format!("SET_MEM_TABLE: {e}")))
}
