//! The Linux side of the stream: every sequence number once and in order, per firmware boot.
//!
//! After a heartbeat loss the firmware resends from its oldest unacknowledged sample, so Linux
//! can see samples again; a gap means the firmware dropped samples (buffer full), which the
//! batch header's `dropped_unsent` confirms.
//!
//! Sequence numbers belong to one boot (see [`wire`](crate::wire)'s boot id). A sample of
//! another boot than the one seen last starts a new stream ([`Verdict::NewBoot`]): it is
//! stored whatever its sequence number, and it counts neither as a duplicate nor as a gap.
//! Samples of the new boot that never reached Linux before it are not counted as lost here;
//! the firmware's `dropped_unsent` counts them.

use core::num::NonZeroU32;

use crate::seq_after;
use crate::wire::{Command, Sample};

/// What [`Receiver::accept`] decided for one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next sample: store it.
    New,
    /// Seen before: ignore it.
    Duplicate,
    /// New, after `missing` lost samples starting at `first_missing`: store it, report the loss.
    AfterGap {
        /// First lost sequence number.
        first_missing: u32,
        /// Number of lost samples.
        missing: u32,
    },
    /// The first sample of boot `new`: store it. Sequence numbers start over from it.
    ///
    /// `old` is the boot seen until now, `None` for a receiver that had seen nothing yet (the
    /// first sample a [`Receiver::new`] accepts is always `NewBoot { old: None, .. }`). With
    /// `Some`, the firmware restarted: what was stored for `old` is complete.
    NewBoot {
        /// The boot seen until now.
        old: Option<NonZeroU32>,
        /// The boot this sample comes from.
        new: NonZeroU32,
    },
}

/// In-order, duplicate-free acceptance of samples.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    /// Boot id and next expected sequence number of the stream seen last.
    stream: Option<(NonZeroU32, u32)>,
    lost: u64,
}

impl Receiver {
    /// A receiver that takes whatever boot and sequence number come first.
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver that continues after `last_seq` of boot `boot_id` (a restarted logger with a
    /// log on disk). A sample of another boot is a [`Verdict::NewBoot`].
    pub fn resume(boot_id: NonZeroU32, last_seq: u32) -> Self {
        Self {
            stream: Some((boot_id, last_seq.wrapping_add(1))),
            lost: 0,
        }
    }

    /// Classifies sample `s` of a batch from boot `boot_id` and advances.
    pub fn accept(&mut self, boot_id: NonZeroU32, s: &Sample) -> Verdict {
        let seq = s.seq.get();
        let v = match self.stream {
            Some((b, e)) if b == boot_id => {
                if seq == e {
                    Verdict::New
                } else if seq_after(e, seq) {
                    return Verdict::Duplicate;
                } else {
                    let missing = seq.wrapping_sub(e);
                    self.lost += u64::from(missing);
                    Verdict::AfterGap {
                        first_missing: e,
                        missing,
                    }
                }
            }
            other => Verdict::NewBoot {
                old: other.map(|(b, _)| b),
                new: boot_id,
            },
        };
        self.stream = Some((boot_id, seq.wrapping_add(1)));
        v
    }

    /// The boot id of the stream seen last, if any.
    pub fn boot_id(&self) -> Option<NonZeroU32> {
        self.stream.map(|(b, _)| b)
    }

    /// The sequence number to acknowledge (the last accepted), if any.
    pub fn ack_seq(&self) -> Option<u32> {
        self.stream.map(|(_, e)| e.wrapping_sub(1))
    }

    /// The ack for everything accepted so far ([`Command::Ack`] with the current boot id and
    /// [`Receiver::ack_seq`]); `None` before the first sample. Send it only once the samples
    /// are stored.
    pub fn ack(&self) -> Option<Command> {
        self.stream.map(|(boot_id, e)| Command::Ack {
            boot_id,
            seq: e.wrapping_sub(1),
        })
    }

    /// Samples lost in gaps so far, over all boots.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::boot_id;

    const A: NonZeroU32 = boot_id(0xaaaa_0001);
    const B: NonZeroU32 = boot_id(0xbbbb_0002);

    fn s(seq: u32) -> Sample {
        Sample::new(seq, 0, 0.0, 0.0, 0.0)
    }

    #[test]
    fn in_order_duplicates_and_gaps() {
        let mut r = Receiver::new();
        assert_eq!((r.ack_seq(), r.ack(), r.boot_id()), (None, None, None));
        assert_eq!(r.accept(A, &s(5)), Verdict::NewBoot { old: None, new: A });
        assert_eq!(r.accept(A, &s(6)), Verdict::New);
        assert_eq!(r.accept(A, &s(5)), Verdict::Duplicate);
        assert_eq!(r.accept(A, &s(6)), Verdict::Duplicate);
        assert_eq!(
            r.accept(A, &s(10)),
            Verdict::AfterGap {
                first_missing: 7,
                missing: 3
            }
        );
        assert_eq!(r.ack_seq(), Some(10));
        assert_eq!(
            r.ack(),
            Some(Command::Ack {
                boot_id: A,
                seq: 10
            })
        );
        assert_eq!(r.lost(), 3);
    }

    #[test]
    fn resume_and_wrap() {
        let mut r = Receiver::resume(A, u32::MAX - 1);
        assert_eq!(r.boot_id(), Some(A));
        assert_eq!(r.accept(A, &s(u32::MAX - 1)), Verdict::Duplicate);
        assert_eq!(r.accept(A, &s(u32::MAX)), Verdict::New);
        assert_eq!(r.accept(A, &s(0)), Verdict::New);
        assert_eq!(
            r.accept(A, &s(3)),
            Verdict::AfterGap {
                first_missing: 1,
                missing: 2
            }
        );
        assert_eq!(r.accept(A, &s(u32::MAX)), Verdict::Duplicate);
    }

    /// The firmware restarts: sequence numbers start over at 0, far "before" the old stream.
    #[test]
    fn a_new_boot_is_a_new_stream() {
        let mut r = Receiver::resume(A, 5000);
        assert_eq!(
            r.accept(B, &s(0)),
            Verdict::NewBoot {
                old: Some(A),
                new: B
            },
            "not a duplicate of A's sample 0"
        );
        assert_eq!(r.accept(B, &s(1)), Verdict::New);
        assert_eq!(r.accept(B, &s(1)), Verdict::Duplicate);
        assert_eq!(r.boot_id(), Some(B));
        assert_eq!(r.ack(), Some(Command::Ack { boot_id: B, seq: 1 }));
        assert_eq!(r.lost(), 0, "no gap from A's 5000 to B's 0");

        // A restart to a stream that starts after A's sequence numbers is no gap either.
        let mut r = Receiver::resume(A, 10);
        assert_eq!(
            r.accept(B, &s(20)),
            Verdict::NewBoot {
                old: Some(A),
                new: B
            }
        );
        assert_eq!(r.accept(B, &s(21)), Verdict::New);
        assert_eq!(r.lost(), 0);
        // Gaps within the new boot count as before.
        assert_eq!(
            r.accept(B, &s(24)),
            Verdict::AfterGap {
                first_missing: 22,
                missing: 2
            }
        );
        assert_eq!(r.lost(), 2);
    }
}
