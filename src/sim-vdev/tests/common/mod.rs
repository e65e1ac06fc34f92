//! Helpers shared by the integration tests.
#![allow(dead_code)]

use rpmsg_proto::rsc::{FwRscVdev, FwRscVdevVring, RpmsgVdev};
use zerocopy::FromBytes;

/// The resource-table fields Linux (here: mcore-vdev) writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub status: u8,
    pub gfeatures: u32,
    pub vrings: [Vring; 2],
}

/// One vring entry, as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vring {
    pub da: u32,
    pub align: u32,
    pub num: u32,
    pub notifyid: u32,
}

impl From<FwRscVdevVring> for Vring {
    fn from(v: FwRscVdevVring) -> Self {
        Self {
            da: v.da.get(),
            align: v.align.get(),
            num: v.num.get(),
            notifyid: v.notifyid.get(),
        }
    }
}

/// Decodes the fields of `table`'s RPMsg vdev.
pub fn fields(table: &[u8]) -> Fields {
    let v = RpmsgVdev::find(table).expect("an RPMsg vdev");
    let (vdev, _) = FwRscVdev::read_from_prefix(&table[v.vdev_offset..]).unwrap();
    Fields {
        status: vdev.status,
        gfeatures: vdev.gfeatures.get(),
        vrings: [v.vrings[0].into(), v.vrings[1].into()],
    }
}
