//! Replays recorded vhost-user conversations (`tests/data/*.jsonl`, as written by
//! `mcore-vdev --record`) through the translator and checks the resource table after every
//! request against what Linux remoteproc would have written; plus the refusals.
//!
//! Every `*.jsonl` file in `tests/data` is replayed: a new recording just works.

mod common;

use std::path::{Path, PathBuf};

use common::{fields, Vring};
use rpmsg_proto::rsc::{zephyr_table, RpmsgVdev, RscError};
use sim_vdev::translate::{Action, Error, Region, Request, Translator};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn load(path: &Path) -> Vec<Request> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let r: Request = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            // The recorder writes exactly this form: the files round-trip.
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                l.trim(),
                "{}:{}",
                path.display(),
                n + 1
            );
            r
        })
        .collect()
}

fn boot() -> Vec<Request> {
    load(&data_dir().join("uml61-boot.jsonl"))
}

/// An independent model of what Linux remoteproc writes, request by request.
#[derive(Default)]
struct Model {
    region: Option<Region>,
    enabled: [bool; 2],
    ready: bool,
}

impl Model {
    /// The table and action expected after `req`, given the table `before` it.
    fn step(&mut self, before: &[u8], req: &Request) -> (Vec<u8>, Action) {
        let v = RpmsgVdev::find(before).unwrap();
        let mut t = before.to_vec();
        let put = |t: &mut Vec<u8>, off: usize, val: u32| {
            t[off..off + 4].copy_from_slice(&val.to_le_bytes())
        };
        let status = v.vdev_offset + 24;
        let vr = |i: u32| v.vdev_offset + 28 + 20 * i as usize;
        let mut action = Action::Done;
        match *req {
            Request::SetOwner => {
                *self = Self::default();
                put(&mut t, vr(0) + 12, 0);
                put(&mut t, vr(1) + 12, 1);
                t[status] = 0;
            }
            Request::GetFeatures => {
                action = Action::Reply(u64::from(v.dfeatures) | 1 << 30 | 1 << 32);
            }
            Request::GetProtocolFeatures => action = Action::Reply(1 << 3 | 1 << 5),
            Request::SetFeatures { features } => {
                put(&mut t, v.vdev_offset + 16, features as u32 & v.dfeatures);
                t[status] = 3;
            }
            Request::SetMemTable { ref regions } => {
                self.region = Some(regions[0]);
                action = Action::MapMemory {
                    len: regions[0].mmap_offset + regions[0].memory_size,
                };
            }
            Request::SetVringNum { index, num } => put(&mut t, vr(index) + 8, num),
            Request::SetVringAddr {
                index, descriptor, ..
            } => {
                let r = self.region.unwrap();
                let da = descriptor - r.user_addr + r.guest_phys_addr;
                put(&mut t, vr(index), da as u32);
                put(&mut t, vr(index) + 4, 4096);
            }
            Request::SetVringEnable { index, enable } => {
                self.enabled[index as usize] = enable;
                if !enable {
                    self.ready = false;
                    t[status] = 0;
                }
            }
            // virtio_device_ready() comes right before rpmsg_probe()'s first kick of vring 0.
            Request::Kick { index: 0 } if self.enabled == [true, true] && !self.ready => {
                self.ready = true;
                t[status] = 7;
            }
            Request::Eof => *self = Self::default(),
            _ => {}
        }
        (t, action)
    }
}

/// Replays `reqs` on the Zephyr table, checking every step against [`Model`]. Returns the table
/// after each request.
fn replay_checked(name: &str, reqs: &[Request]) -> Vec<Vec<u8>> {
    let mut table = zephyr_table(16).to_vec();
    let mut tr = Translator::new();
    let mut model = Model::default();
    let mut tables = Vec::new();
    for (n, req) in reqs.iter().enumerate() {
        let (want, want_action) = model.step(&table, req);
        let action = tr
            .handle(&mut table, req)
            .unwrap_or_else(|e| panic!("{name}:{}: {req:?}: {e}", n + 1));
        assert_eq!(action, want_action, "{name}:{}: {req:?}", n + 1);
        assert_eq!(fields(&table), fields(&want), "{name}:{}: {req:?}", n + 1);
        assert_eq!(table, want, "{name}:{}: {req:?}: other bytes", n + 1);
        tables.push(table.clone());
    }
    tables
}

#[test]
fn every_recording_replays_as_remoteproc_would_write() {
    let mut files: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let reqs = load(&f);
        assert_eq!(reqs.first(), Some(&Request::SetOwner), "{}", f.display());
        let tables = replay_checked(&f.display().to_string(), &reqs);
        // After every boot (the first kick of vring 0), the firmware sees a complete vdev.
        for (req, t) in reqs.iter().zip(&tables) {
            if matches!(req, Request::Kick { index: 0 }) {
                let v = fields(t);
                assert_eq!(v.status, 7);
                assert_eq!(v.gfeatures, 1, "VIRTIO_RPMSG_F_NS");
                for (i, r) in v.vrings.iter().enumerate() {
                    assert_eq!((r.align, r.notifyid), (4096, i as u32));
                    assert!(r.num.is_power_of_two() && r.da != u32::MAX);
                }
            }
        }
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
fn uml61_boot() {
    let t = replay_checked("boot", &boot());
    let f = fields(t.last().unwrap());
    assert_eq!(f.status, 7);
    assert_eq!(f.gfeatures, 1);
    assert_eq!(f.vrings, [vring(0x9b8c000, 0), vring(0x9b90000, 1)]);
    // Step by step: status 0 at SET_OWNER, 3 at SET_FEATURES, 7 only once both rings are on.
    let status: Vec<u8> = t.iter().map(|t| fields(t).status).collect();
    assert_eq!(status[0], 0);
    assert_eq!(status[5], 3);
    assert_eq!(status[..status.len() - 1].iter().max(), Some(&3));
}

#[test]
fn uml61_poweroff_resets_status() {
    let reqs = load(&data_dir().join("uml61-poweroff.jsonl"));
    let t = replay_checked("poweroff", &reqs);
    let f = fields(t.last().unwrap());
    assert_eq!(f.status, 0, "SET_VRING_ENABLE 0 → rproc_virtio_reset()");
    assert_eq!(f.vrings, [vring(0x9b8c000, 0), vring(0x9b90000, 1)]);
}

#[test]
fn uml61_killed_leaves_driver_ok_and_the_next_boot_starts_afresh() {
    let reqs = load(&data_dir().join("uml61-killed-reboot.jsonl"));
    let t = replay_checked("killed", &reqs);
    let eof = reqs.iter().position(|r| *r == Request::Eof).unwrap();
    assert_eq!(t[eof], t[eof - 1], "EOF writes nothing");
    assert_eq!(fields(&t[eof]).status, 7, "a killed Linux leaves DRIVER_OK");
    assert_eq!(fields(&t[eof + 1]).status, 0, "the next SET_OWNER resets");
    let f = fields(t.last().unwrap());
    assert_eq!(f.status, 7);
    assert_eq!(f.vrings, [vring(0x25074000, 0), vring(0x25078000, 1)]);
}

#[test]
fn recorded_uml61_boot_poweroff_and_crash_reboot() {
    // Real UML 6.1.192 under setarch -R: the same placement at every boot.
    let reqs = load(&data_dir().join("uml61-recorded-boot-poweroff.jsonl"));
    let t = replay_checked("recorded boot+poweroff", &reqs);
    let on = reqs
        .iter()
        .position(|r| matches!(r, Request::Kick { index: 0 }))
        .unwrap();
    assert_eq!(
        fields(&t[on - 1]).status,
        3,
        "both rings on, no kick yet: not ready"
    );
    let up = fields(&t[on]);
    assert_eq!((up.status, up.gfeatures), (7, 1));
    assert_eq!(up.vrings, [vring(0x9c_0000, 0), vring(0x9c_4000, 1)]);
    assert_eq!(fields(t.last().unwrap()).status, 0, "poweroff resets");

    let reqs = load(&data_dir().join("uml61-recorded-killed-reboot.jsonl"));
    let t = replay_checked("recorded crash+reboot", &reqs);
    let eof = reqs.iter().position(|r| *r == Request::Eof).unwrap();
    assert_eq!(t[eof], t[eof - 1], "EOF writes nothing");
    assert_eq!(fields(&t[eof]).status, 7, "a killed Linux leaves DRIVER_OK");
    assert_eq!(fields(&t[eof + 1]).status, 0, "the next SET_OWNER resets");
    assert_eq!(fields(t.last().unwrap()).status, 0);
}

/// Replays `reqs` until the first refusal; returns its index and error, after checking that the
/// refused request wrote nothing.
fn first_error(table: &[u8], reqs: &[Request]) -> (usize, Error) {
    let mut table = table.to_vec();
    let mut tr = Translator::new();
    for (n, req) in reqs.iter().enumerate() {
        let before = table.clone();
        if let Err(e) = tr.handle(&mut table, req) {
            assert_eq!(table, before, "{req:?} refused but wrote");
            return (n, e);
        }
    }
    panic!("no error");
}

/// The boot sequence with `f` applied to each request.
fn broken(f: impl Fn(&mut Request)) -> (usize, Error) {
    let mut reqs = boot();
    reqs.iter_mut().for_each(f);
    first_error(&zephyr_table(16), &reqs)
}

fn addr_of(r: &mut Request, i: u32) -> Option<(&mut u64, &mut u64, &mut u64)> {
    match r {
        Request::SetVringAddr {
            index,
            descriptor,
            available,
            used,
            ..
        } if *index == i => Some((descriptor, available, used)),
        _ => None,
    }
}

fn region_of(r: &mut Request) -> Option<&mut Vec<Region>> {
    match r {
        Request::SetMemTable { regions } => Some(regions),
        _ => None,
    }
}

#[test]
fn broken_layouts_are_refused_naming_the_addresses() {
    let (n, e) = broken(|r| {
        if let Some((_, a, _)) = addr_of(r, 1) {
            *a += 16;
        }
    });
    assert_eq!(n, 14);
    assert_eq!(
        e,
        Error::NotLegacyLayout {
            index: 1,
            num: 256,
            desc: 0x9b90000,
            avail: 0x9b91010,
            used: 0x9b92000,
            want_avail: 0x9b91000,
            want_used: 0x9b92000,
        }
    );
    assert!(e.to_string().contains("0x9b91010"), "{e}");
    // A split ring whose used ring is elsewhere (modern layout): refused.
    let (_, e) = broken(|r| {
        if let Some((_, _, u)) = addr_of(r, 0) {
            *u = 0x3000_0000;
        }
    });
    assert!(
        matches!(
            e,
            Error::NotLegacyLayout {
                index: 0,
                used: 0x3000_0000,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn broken_regions_are_refused() {
    let (n, e) = broken(|r| {
        if let Some(rs) = region_of(r) {
            rs[0].mmap_offset = 0;
        }
    });
    assert_eq!(n, 6);
    assert!(matches!(e, Error::RegionNotIdentity(_)), "{e}");
    let (_, e) = broken(|r| {
        if let Some(rs) = region_of(r) {
            rs.push(rs[0]);
        }
    });
    assert_eq!(e, Error::RegionCount(2));
    let (_, e) = broken(|r| {
        if let Some(rs) = region_of(r) {
            rs.clear();
        }
    });
    assert_eq!(e, Error::RegionCount(0));
    let (_, e) = broken(|r| {
        if let Some(rs) = region_of(r) {
            rs[0].memory_size = 0;
        }
    });
    assert!(matches!(e, Error::BadRegion(_)), "{e}");
    // Region too small for the rings: the first ring is outside it.
    let (n, e) = broken(|r| {
        if let Some(rs) = region_of(r) {
            rs[0].memory_size = 0x100_0000;
        }
    });
    assert_eq!(n, 10);
    assert_eq!(
        e,
        Error::OutOfRegion {
            index: 0,
            start: 0x9b8c000,
            end: 0x9b8e806,
            region_start: 0x200_0000,
            region_end: 0x300_0000,
        }
    );
    // The same ring, physically above 4 GiB: da cannot hold it.
    let (_, e) = broken(|r| {
        if let Some(rs) = region_of(r) {
            rs[0].guest_phys_addr = 0x1_0000_0000;
            rs[0].mmap_offset = 0x1_0000_0000;
        }
    });
    assert!(
        matches!(
            e,
            Error::AboveFourGiB {
                index: 0,
                start: 0x1_07b8_c000,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn broken_vring_setup_is_refused() {
    let (n, e) = broken(|r| {
        if let Request::SetVringBase { index: 0, base } = r {
            *base = 1;
        }
    });
    assert_eq!((n, e), (9, Error::NonZeroBase { index: 0, base: 1 }));
    let (_, e) = broken(|r| {
        if let Request::SetVringNum { index: 1, num } = r {
            *num = 255;
        }
    });
    assert_eq!(e, Error::BadNum { index: 1, num: 255 });
    let (_, e) = broken(|r| {
        if let Request::SetVringNum { index, .. } = r {
            *index = 2;
        }
    });
    assert_eq!(e, Error::BadIndex(2));

    let without = |pred: &dyn Fn(&Request) -> bool| {
        let reqs: Vec<_> = boot().into_iter().filter(|r| !pred(r)).collect();
        first_error(&zephyr_table(16), &reqs).1
    };
    assert_eq!(
        without(&|r| matches!(r, Request::SetMemTable { .. })),
        Error::NoMemTable(0)
    );
    assert_eq!(
        without(&|r| matches!(r, Request::SetVringNum { index: 0, .. })),
        Error::NoVringNum(0)
    );
    assert_eq!(
        without(&|r| matches!(r, Request::SetVringAddr { index: 1, .. })),
        Error::NotReady(1)
    );
    assert_eq!(
        without(&|r| *r == Request::SetOwner),
        Error::NoOwner("SET_FEATURES")
    );
}

#[test]
fn unusable_tables_and_requests_are_refused() {
    let mut no_rpmsg = zephyr_table(16);
    no_rpmsg[24] = 5; // vdev id 5: not VIRTIO_ID_RPMSG
    assert_eq!(
        first_error(&no_rpmsg, &boot()),
        (0, Error::Rsc(RscError::NoRpmsgVdev))
    );
    let mut one_vring = zephyr_table(16);
    one_vring[45] = 1;
    assert_eq!(
        first_error(&one_vring, &boot()),
        (0, Error::Rsc(RscError::VringCount(1)))
    );
    let mut reqs = boot();
    reqs.insert(
        1,
        Request::Unsupported {
            name: "GET_VRING_BASE".into(),
        },
    );
    assert_eq!(
        first_error(&zephyr_table(16), &reqs),
        (1, Error::Unsupported("GET_VRING_BASE".into()))
    );
}

#[test]
fn a_refused_connection_does_not_spoil_the_next() {
    let mut reqs = boot();
    if let Some((_, a, _)) = addr_of(&mut reqs[10], 0) {
        *a += 16;
    } else {
        panic!("{:?}", reqs[10]);
    }
    let mut table = zephyr_table(16).to_vec();
    let mut tr = Translator::new();
    let refused = reqs.iter().find_map(|r| tr.handle(&mut table, r).err());
    assert!(matches!(
        refused,
        Some(Error::NotLegacyLayout { index: 0, .. })
    ));
    tr.handle(&mut table, &Request::Eof).unwrap();
    for r in &boot() {
        tr.handle(&mut table, r).unwrap();
    }
    assert_eq!(fields(&table).status, 7);
}

/// Arbitrary requests never panic the translator.
#[test]
fn garbage_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Mostly small or edge values.
        match seed % 4 {
            0 => seed,
            1 => u64::MAX - (seed >> 60),
            _ => seed % 0x4000,
        }
    };
    let mut table = zephyr_table(16).to_vec();
    let mut tr = Translator::new();
    for _ in 0..20_000 {
        let req = match rnd() % 9 {
            0 => Request::SetOwner,
            1 => Request::SetFeatures { features: rnd() },
            2 => Request::SetMemTable {
                regions: vec![Region {
                    guest_phys_addr: rnd(),
                    memory_size: rnd(),
                    user_addr: rnd(),
                    mmap_offset: rnd(),
                }],
            },
            3 => Request::SetVringNum {
                index: rnd() as u32 % 3,
                num: rnd() as u32,
            },
            4 => Request::SetVringAddr {
                index: rnd() as u32 % 3,
                flags: 0,
                descriptor: rnd(),
                used: rnd(),
                available: rnd(),
                log: rnd(),
            },
            5 => Request::SetVringEnable {
                index: rnd() as u32 % 3,
                enable: rnd() % 2 == 0,
            },
            6 => Request::SetVringBase {
                index: rnd() as u32,
                base: rnd() as u32,
            },
            7 => Request::GetFeatures,
            _ => Request::Eof,
        };
        let _ = tr.handle(&mut table, &req);
        // The table stays valid for the firmware whatever Linux sent.
        RpmsgVdev::find(&table).unwrap();
    }
}
