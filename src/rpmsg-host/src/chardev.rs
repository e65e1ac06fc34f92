//! The real-Linux backend: the kernel's virtio_rpmsg_bus through rpmsg_char.
//!
//! The firmware's name-service announcement makes Linux create an rpmsg device
//! (`/sys/bus/rpmsg/devices/virtio0.<name>.-1.<dst>`, attributes `name`, `src`, `dst`). This
//! backend creates an endpoint for it through `/dev/rpmsg_ctrlN` with `RPMSG_CREATE_EPT_IOCTL`
//! (`include/uapi/linux/rpmsg.h`) and then exchanges one message per `read()`/`write()` on the
//! `/dev/rpmsgM` that appears. Needs `CONFIG_RPMSG_CHAR` (and `CONFIG_RPMSG_CTRL` on Linux ≥ 5.18).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rpmsg_proto::{MAX_PAYLOAD, RPMSG_ADDR_ANY, RPMSG_NAME_SIZE};

use crate::link::{Channel, RpmsgLink};
use crate::{Error, Result};

/// `struct rpmsg_endpoint_info` (uapi/linux/rpmsg.h): name[32], src, dst. 40 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointInfo {
    /// Service name, NUL-padded.
    pub name: [u8; RPMSG_NAME_SIZE],
    /// Local address (`RPMSG_ADDR_ANY`: let the kernel choose).
    pub src: u32,
    /// Remote (firmware) address.
    pub dst: u32,
}

/// `RPMSG_CREATE_EPT_IOCTL = _IOW(0xb5, 0x1, struct rpmsg_endpoint_info)`.
pub const RPMSG_CREATE_EPT_IOCTL: u64 = ioc_write(0xb5, 0x1, std::mem::size_of::<EndpointInfo>());
/// `RPMSG_DESTROY_EPT_IOCTL = _IO(0xb5, 0x2)`.
pub const RPMSG_DESTROY_EPT_IOCTL: u64 = (0xb5 << 8) | 0x2;

const fn ioc_write(ty: u64, nr: u64, size: usize) -> u64 {
    // asm-generic/ioctl.h: dir (write = 1) << 30 | size << 16 | type << 8 | nr
    (1 << 30) | ((size as u64) << 16) | (ty << 8) | nr
}

impl EndpointInfo {
    /// An endpoint for service `name` towards firmware address `dst`.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`] for a name of 32 bytes or more.
    pub fn new(name: &str, dst: u32) -> Result<Self> {
        if name.len() >= RPMSG_NAME_SIZE {
            return Err(Error::NoSuchChannel(name.into()));
        }
        let mut n = [0u8; RPMSG_NAME_SIZE];
        n[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Self {
            name: n,
            src: RPMSG_ADDR_ANY,
            dst,
        })
    }
}

/// Lists the channels Linux created from the firmware's announcements, from sysfs
/// (`<sysfs>/bus/rpmsg/devices/*/{name,src,dst}`; `sysfs` is `/sys` on a target).
///
/// # Errors
/// I/O errors reading sysfs.
pub fn channels_in(sysfs: &Path) -> Result<Vec<Channel>> {
    let dir = sysfs.join("bus/rpmsg/devices");
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for e in rd {
        let p = e?.path();
        let attr = |a: &str| std::fs::read_to_string(p.join(a)).map(|s| s.trim().to_string());
        let (Ok(name), Ok(dst)) = (attr("name"), attr("dst")) else {
            continue;
        };
        let parse = |s: &str| {
            let s = s.trim_start_matches("0x");
            u32::from_str_radix(s, 16).ok()
        };
        let src = attr("src")
            .ok()
            .and_then(|s| parse(&s))
            .unwrap_or(RPMSG_ADDR_ANY);
        if let Some(remote) = parse(&dst) {
            if remote != RPMSG_ADDR_ANY && name != "rpmsg_ctrl" && name != "rpmsg_ns" {
                out.push(Channel {
                    name,
                    remote,
                    local: src,
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One endpoint on real Linux.
pub struct CharDevLink {
    name: String,
    ept: File,
    ctrl: PathBuf,
}

impl CharDevLink {
    /// Creates an endpoint for the firmware service `name` with `ctrl` (e.g. `/dev/rpmsg_ctrl0`)
    /// and opens the `/dev/rpmsgN` the kernel made for it.
    ///
    /// # Errors
    /// [`Error::NoSuchChannel`] when Linux has no such announced channel; I/O errors of the
    /// ioctl or the device.
    pub fn open(ctrl: &Path, name: &str, timeout: Duration) -> Result<Self> {
        let sysfs = Path::new("/sys");
        let ch = channels_in(sysfs)?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::NoSuchChannel(name.into()))?;
        let before: Vec<PathBuf> = rpmsg_devs()?;
        let ctrl_file = OpenOptions::new().read(true).write(true).open(ctrl)?;
        let info = EndpointInfo::new(name, ch.remote)?;
        // SAFETY: RPMSG_CREATE_EPT_IOCTL reads one `struct rpmsg_endpoint_info`, which
        // `EndpointInfo` is (repr(C), 40 bytes); the pointer is valid for the call.
        let rc = unsafe {
            libc::ioctl(
                ctrl_file.as_raw_fd(),
                RPMSG_CREATE_EPT_IOCTL as _,
                &info as *const EndpointInfo,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let deadline = Instant::now() + timeout;
        let dev = loop {
            if let Some(d) = rpmsg_devs()?.into_iter().find(|d| !before.contains(d)) {
                break d;
            }
            if Instant::now() >= deadline {
                return Err(Error::TimedOut);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let ept = OpenOptions::new().read(true).write(true).open(dev)?;
        Ok(Self {
            name: name.into(),
            ept,
            ctrl: ctrl.into(),
        })
    }

    /// The control device used.
    pub fn ctrl(&self) -> &Path {
        &self.ctrl
    }
}

fn rpmsg_devs() -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/dev")? {
        let p = e?.path();
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if n.starts_with("rpmsg") && !n.starts_with("rpmsg_ctrl") {
            v.push(p);
        }
    }
    Ok(v)
}

impl Drop for CharDevLink {
    fn drop(&mut self) {
        // SAFETY: RPMSG_DESTROY_EPT_IOCTL takes no argument; the fd is open.
        unsafe { libc::ioctl(self.ept.as_raw_fd(), RPMSG_DESTROY_EPT_IOCTL as _) };
    }
}

impl RpmsgLink for CharDevLink {
    fn channels(&mut self) -> Result<Vec<Channel>> {
        channels_in(Path::new("/sys"))
    }

    fn send(&mut self, name: &str, data: &[u8], _timeout: Duration) -> Result<()> {
        if name != self.name {
            return Err(Error::NoSuchChannel(name.into()));
        }
        // No check here: Linux's own refusal (EMSGSIZE) is what the program must see.
        match self.ept.write(data) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(n) => {
                Err(std::io::Error::other(format!("short write: {n} of {}", data.len())).into())
            }
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => Err(Error::Refused {
                len: data.len(),
                max: MAX_PAYLOAD,
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn recv(&mut self, name: &str, timeout: Duration) -> Result<Vec<u8>> {
        if name != self.name {
            return Err(Error::NoSuchChannel(name.into()));
        }
        let mut pfd = libc::pollfd {
            fd: self.ept.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            // A signal (SIGTERM for a clean stop) interrupts the wait like a timeout, so that
            // the caller gets to look at its stop flag.
            return Err(if e.kind() == std::io::ErrorKind::Interrupted {
                Error::TimedOut
            } else {
                e.into()
            });
        }
        if rc == 0 {
            return Err(Error::TimedOut);
        }
        let mut buf = vec![0u8; MAX_PAYLOAD];
        let n = self.ept.read(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel_uapi() {
        assert_eq!(std::mem::size_of::<EndpointInfo>(), 40);
        assert_eq!(RPMSG_CREATE_EPT_IOCTL, 0x4028_b501);
        assert_eq!(RPMSG_DESTROY_EPT_IOCTL, 0xb502);
        let i = EndpointInfo::new("mcore-imu", 0x400).unwrap();
        assert_eq!(&i.name[..10], b"mcore-imu\0");
        assert_eq!((i.src, i.dst), (RPMSG_ADDR_ANY, 0x400));
        assert!(EndpointInfo::new(&"x".repeat(32), 1).is_err());
    }

    #[test]
    fn channels_from_sysfs() {
        let root = std::env::temp_dir().join(format!("mcore-sysfs-{}", std::process::id()));
        let dev = |n: &str, name: &str, src: &str, dst: &str| {
            let d = root.join("bus/rpmsg/devices").join(n);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(d.join("src"), format!("{src}\n")).unwrap();
            std::fs::write(d.join("dst"), format!("{dst}\n")).unwrap();
        };
        dev(
            "virtio0.mcore-imu.-1.1024",
            "mcore-imu",
            "0xffffffff",
            "0x400",
        );
        dev("virtio0.rpmsg-tty.-1.1025", "rpmsg-tty", "0x401", "0x401");
        dev(
            "virtio0.rpmsg_ctrl.0.0",
            "rpmsg_ctrl",
            "0xffffffff",
            "0xffffffff",
        );
        let ch = channels_in(&root).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(ch.len(), 2);
        assert_eq!((ch[0].name.as_str(), ch[0].remote), ("mcore-imu", 0x400));
        assert_eq!(
            (ch[1].name.as_str(), ch[1].remote, ch[1].local),
            ("rpmsg-tty", 0x401, 0x401)
        );
        assert!(channels_in(Path::new("/nonexistent")).unwrap().is_empty());
    }
}
