//! Runs `mcore-vdev` between a fake firmware (a SEQPACKET listener that sends RSC, answers MEM
//! and records kicks) and a vhost-user frontend driven by the test (rust-vmm's `Frontend`, with
//! a memfd as guest memory), as UML 6.1 would drive it. No kernel needed.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fields, Fields, Vring};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{
    accept, bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
};
use nix::unistd::Pid;
use rpmsg_proto::rsc::zephyr_table;
use sim_vdev::fw::{kind, Link, Msg};
use sim_vdev::translate::{Request, Translator};
use vhost::vhost_user::message::{VhostUserHeaderFlag, VhostUserProtocolFeatures};
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use vmm_sys_util::eventfd::EventFd;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Guest memory: a 2 MiB file, the region is its second MiB (physical = file offset).
const REGION: u64 = 0x10_0000;
const DESC: [u64; 2] = [0x1f_4000, 0x1f_8000];

fn memfd(name: &str, len: u64) -> File {
    let f = File::from(memfd_create(name, MFdFlags::MFD_CLOEXEC).unwrap());
    f.set_len(len).unwrap();
    f
}

fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether `fd` becomes readable within [`TIMEOUT`].
fn readable(fd: &impl AsRawFd) -> bool {
    // SAFETY: `fd` is borrowed from a live owner for the duration of this call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) };
    let mut p = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut p, PollTimeout::from(TIMEOUT.as_millis() as u16)).unwrap() == 1
}

/// The firmware side: resource table in a memfd, MEM answered with `ack`, kicks collected.
struct FakeFirmware {
    link: Arc<Link>,
    table: File,
    ack: Arc<AtomicI64>,
    kicks: Receiver<u32>,
    mems: Receiver<(u64, File)>,
}

impl FakeFirmware {
    /// Listens at `path`, runs `start` (which starts mcore-vdev), accepts it, sends RSC.
    fn start(path: &Path, table: &[u8], start: impl FnOnce()) -> Self {
        let l = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        bind(l.as_raw_fd(), &UnixAddr::new(path).unwrap()).unwrap();
        listen(&l, Backlog::new(1).unwrap()).unwrap();
        start();
        assert!(readable(&l), "mcore-vdev did not connect to the firmware");
        let fd = accept(l.as_raw_fd()).unwrap();
        // SAFETY: accept() just returned this new fd; nothing else owns it.
        let link = Arc::new(Link::from_fd(unsafe { OwnedFd::from_raw_fd(fd) }));
        let shm = memfd("rsc", 4096);
        shm.write_all_at(table, 0).unwrap();
        link.send(&Msg::new(kind::RSC, 0, 4096), Some(shm.as_fd()))
            .unwrap();
        let (ack, (kick_tx, kicks), (mem_tx, mems)) =
            (Arc::new(AtomicI64::new(0)), channel(), channel());
        let (l2, a2) = (link.clone(), ack.clone());
        std::thread::spawn(move || {
            while let Ok(Some((m, fd))) = l2.recv() {
                match m.kind.get() {
                    kind::KICK => kick_tx.send(m.vring.get()).unwrap(),
                    kind::MEM => {
                        let ack = a2.load(Ordering::SeqCst);
                        mem_tx.send((m.arg.get(), File::from(fd.unwrap()))).unwrap();
                        l2.send(&Msg::new(kind::MEM_ACK, 0, ack as u64), None)
                            .unwrap();
                    }
                    k => panic!("firmware got kind {k}"),
                }
            }
        });
        Self {
            link,
            table: shm,
            ack,
            kicks,
            mems,
        }
    }

    fn table(&self) -> Vec<u8> {
        let mut t = vec![0; 88];
        self.table.read_exact_at(&mut t, 0).unwrap();
        t
    }

    fn fields(&self) -> Fields {
        fields(&self.table())
    }
}

struct Setup {
    dir: PathBuf,
    child: Child,
    fw: FakeFirmware,
}

impl Setup {
    fn new(name: &str, table: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!("sim-vdev-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = None;
        let fw = FakeFirmware::start(&dir.join("fw.sock"), table, || {
            child = Some(
                Command::new(env!("CARGO_BIN_EXE_mcore-vdev"))
                    .arg("--socket")
                    .arg(dir.join("vu.sock"))
                    .arg("--ipc")
                    .arg(dir.join("fw.sock"))
                    .arg("--record")
                    .arg(dir.join("record.jsonl"))
                    .env("RUST_LOG", "debug")
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            )
        });
        Self {
            dir,
            child: child.unwrap(),
            fw,
        }
    }

    fn connect(&self) -> Frontend {
        let path = self.dir.join("vu.sock");
        wait_until("the vhost-user socket", || Frontend::connect(&path, 2).ok())
    }

    fn recording(&self) -> Vec<Request> {
        std::fs::read_to_string(self.dir.join("record.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn wait_exit(mut self) -> (ExitStatus, String) {
        let status = wait_until("mcore-vdev to exit", || self.child.try_wait().unwrap());
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
        (status, err)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Linux (UML 6.1) up to and including SET_MEM_TABLE.
struct Linux {
    fe: Frontend,
    _backend_req: UnixStream,
    _memory: File,
}

impl Linux {
    fn probe(fe: Frontend) -> Result<Self, vhost::Error> {
        let mut fe = fe;
        fe.set_owner()?;
        let features = fe.get_features()?;
        assert_eq!(
            features,
            1 | 1 << 30 | 1 << 32,
            "NS, PROTOCOL_FEATURES, VERSION_1"
        );
        let pf = fe.get_protocol_features()?;
        assert_eq!(
            pf,
            VhostUserProtocolFeatures::REPLY_ACK | VhostUserProtocolFeatures::BACKEND_REQ
        );
        fe.set_protocol_features(pf)?;
        // From now on every request asks for an ack, as UML does: each call below returns only
        // once mcore-vdev has handled it.
        fe.set_hdr_flags(VhostUserHeaderFlag::NEED_REPLY);
        let (backend_req, theirs) = UnixStream::pair().unwrap();
        fe.set_backend_request_fd(&theirs)?;
        fe.set_features(features)?;
        let memory = memfd("linux", 2 * REGION);
        memory.write_all_at(b"linux memory", REGION).unwrap();
        fe.set_mem_table(&[VhostUserMemoryRegionInfo {
            guest_phys_addr: REGION,
            memory_size: REGION,
            userspace_addr: REGION,
            mmap_offset: REGION,
            mmap_handle: memory.as_raw_fd(),
        }])?;
        Ok(Self {
            fe,
            _backend_req: backend_req,
            _memory: memory,
        })
    }

    /// Sets up both vrings and enables them; returns (kick, call) eventfds.
    fn start_vrings(&mut self) -> [(EventFd, EventFd); 2] {
        let efd = || EventFd::new(0).unwrap();
        let fds = [(efd(), efd()), (efd(), efd())];
        for (i, (_, call)) in fds.iter().enumerate() {
            self.fe.set_vring_call(i, call).unwrap();
            self.fe.set_vring_num(i, 256).unwrap();
            self.fe.set_vring_base(i, 0).unwrap();
            let d = DESC[i];
            let cfg = VringConfigData {
                queue_max_size: 256,
                queue_size: 256,
                flags: 0,
                desc_table_addr: d,
                avail_ring_addr: d + 0x1000,
                used_ring_addr: d + 0x2000,
                log_addr: None,
            };
            self.fe.set_vring_addr(i, &cfg).unwrap();
        }
        for (i, (kick, _)) in fds.iter().enumerate() {
            self.fe.set_vring_kick(i, kick).unwrap();
            self.fe.set_vring_enable(i, true).unwrap();
        }
        fds
    }
}

const fn vring(da: u32, notifyid: u32) -> Vring {
    Vring {
        da,
        align: 4096,
        num: 256,
        notifyid,
    }
}

#[test]
fn linux_boots_kicks_crashes_and_boots_again() {
    let s = Setup::new("main", &zephyr_table(16));
    let fw = &s.fw;

    // Boot 1.
    let mut linux = Linux::probe(s.connect()).unwrap();
    let (len, mem) = fw.mems.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(len, 2 * REGION, "mmap_offset + memory_size");
    let mut buf = [0u8; 12];
    mem.read_exact_at(&mut buf, REGION).unwrap();
    assert_eq!(
        &buf, b"linux memory",
        "the firmware got Linux's memory file"
    );
    assert_eq!(
        fw.fields().status,
        3,
        "ACKNOWLEDGE | DRIVER after SET_FEATURES"
    );
    assert_eq!(fw.fields().gfeatures, 1);
    let fds = linux.start_vrings();
    // Both rings enabled is not DRIVER_OK yet: rpmsg_probe() sets it right before it first
    // kicks vring 0.
    assert_eq!(
        fw.fields().status,
        3,
        "no DRIVER_OK before the first kick of vring 0"
    );
    // Linux kicks vring 1 (still not ready), then vring 0: the firmware gets KICK 1, KICK 0,
    // and DRIVER_OK is in the table before KICK 0 reaches it.
    fds[1].0.write(1).unwrap();
    assert_eq!(fw.kicks.recv_timeout(TIMEOUT), Ok(1));
    assert_eq!(fw.fields().status, 3);
    fds[0].0.write(1).unwrap();
    assert_eq!(fw.kicks.recv_timeout(TIMEOUT), Ok(0));
    assert_eq!(
        fw.fields(),
        Fields {
            status: 7,
            gfeatures: 1,
            vrings: [vring(DESC[0] as u32, 0), vring(DESC[1] as u32, 1)],
        }
    );
    // The firmware kicks: both call fds fire.
    fw.link.send(&Msg::new(kind::KICK, 0, 0), None).unwrap();
    for (_, call) in &fds {
        assert!(readable(call), "call fd not signalled");
        assert_eq!(call.read().unwrap(), 1);
    }

    // Linux is killed: EOF writes nothing.
    let before = fw.table();
    drop(linux);
    wait_until("EOF in the recording", || {
        s.recording().ends_with(&[Request::Eof]).then_some(())
    });
    assert_eq!(fw.table(), before, "EOF wrote into the table");
    assert_eq!(fw.fields().status, 7, "a killed Linux leaves DRIVER_OK");

    // Boot 2: the firmware cannot map the memory this time; the connection is dropped.
    fw.ack.store(-27, Ordering::SeqCst); // -EFBIG
    let fe = s.connect();
    fe.set_owner().unwrap();
    fe.get_features().unwrap(); // answered: SET_OWNER is done
    let f = fw.fields();
    assert_eq!(f.status, 0, "a new Linux resets the vdev");
    assert_eq!((f.vrings[0].notifyid, f.vrings[1].notifyid), (0, 1));
    assert!(
        Linux::probe(fe).is_err(),
        "SET_MEM_TABLE must fail on -EFBIG"
    );
    fw.mems.recv_timeout(TIMEOUT).unwrap();

    // Boot 3 works again, with fresh fds.
    fw.ack.store(0, Ordering::SeqCst);
    let mut linux = Linux::probe(s.connect()).unwrap();
    let fds = linux.start_vrings();
    fds[0].0.write(1).unwrap();
    assert_eq!(fw.kicks.recv_timeout(TIMEOUT), Ok(0));
    assert_eq!(fw.fields().status, 7);
    fw.link.send(&Msg::new(kind::KICK, 1, 0), None).unwrap();
    assert!(readable(&fds[0].1) && readable(&fds[1].1));
    // Clean poweroff: both rings disabled (reverse order), GET_FEATURES, EOF.
    linux.fe.set_vring_enable(1, false).unwrap();
    linux.fe.set_vring_enable(0, false).unwrap();
    linux.fe.get_features().unwrap();
    assert_eq!(fw.fields().status, 0);
    drop(linux);

    // The recording replays to the same table.
    let rec = wait_until("EOF in the recording", || {
        let r = s.recording();
        (r.iter().filter(|r| **r == Request::Eof).count() == 3).then_some(r)
    });
    let mut table = zephyr_table(16).to_vec();
    let mut tr = Translator::new();
    for r in &rec {
        tr.handle(&mut table, r).unwrap();
    }
    assert_eq!(table, fw.table());

    // SIGTERM: exit 0.
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM).unwrap();
    let (status, log) = s.wait_exit();
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("-> 0x07"), "{log}");
    assert!(log.contains("cannot map Linux's memory"), "{log}");
}

#[test]
fn firmware_gone_means_exit_1() {
    let s = Setup::new("fwgone", &zephyr_table(16));
    // The socket is being served: a frontend can probe the device.
    let linux = Linux::probe(s.connect()).unwrap();
    drop(linux);
    // Close the firmware's end (the reader thread holds the link too: shut the socket down).
    nix::sys::socket::shutdown(
        s.fw.link.as_fd().as_raw_fd(),
        nix::sys::socket::Shutdown::Both,
    )
    .unwrap();
    let (status, log) = s.wait_exit();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("the firmware closed the connection"), "{log}");
}

#[test]
fn a_table_without_rpmsg_vdev_is_refused_at_start() {
    let mut t = zephyr_table(16);
    t[24] = 5; // virtio id 5: not rpmsg
    let s = Setup::new("norpmsg", &t);
    let (status, log) = s.wait_exit();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("no VIRTIO_ID_RPMSG vdev"), "{log}");
}
