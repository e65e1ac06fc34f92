//! The Linux side of the stream: every sequence number once and in order.
//!
//! After a heartbeat loss the firmware resends from its oldest unacknowledged sample, so Linux
//! can see samples again; a gap means the firmware dropped samples (buffer full), which the
//! batch header's `dropped_total` confirms.

use crate::seq_after;
use crate::wire::Sample;

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
}

/// In-order, duplicate-free acceptance of samples.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    expected: Option<u32>,
    lost: u64,
}

impl Receiver {
    /// A receiver that takes whatever sequence number comes first.
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver that continues after `last_seq` (a restarted logger with a log on disk).
    pub fn resume(last_seq: u32) -> Self {
        Self {
            expected: Some(last_seq.wrapping_add(1)),
            lost: 0,
        }
    }

    /// Classifies `s` and advances.
    pub fn accept(&mut self, s: &Sample) -> Verdict {
        let seq = s.seq.get();
        let v = match self.expected {
            None => Verdict::New,
            Some(e) if seq == e => Verdict::New,
            Some(e) if seq_after(e, seq) => return Verdict::Duplicate,
            Some(e) => {
                let missing = seq.wrapping_sub(e);
                self.lost += u64::from(missing);
                Verdict::AfterGap {
                    first_missing: e,
                    missing,
                }
            }
        };
        self.expected = Some(seq.wrapping_add(1));
        v
    }

    /// The sequence number to acknowledge (the last accepted), if any.
    pub fn ack_seq(&self) -> Option<u32> {
        self.expected.map(|e| e.wrapping_sub(1))
    }

    /// Samples lost in gaps so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(seq: u32) -> Sample {
        Sample::new(seq, 0, 0.0, 0.0, 0.0)
    }

    #[test]
    fn in_order_duplicates_and_gaps() {
        let mut r = Receiver::new();
        assert_eq!(r.ack_seq(), None);
        assert_eq!(r.accept(&s(5)), Verdict::New);
        assert_eq!(r.accept(&s(6)), Verdict::New);
        assert_eq!(r.accept(&s(5)), Verdict::Duplicate);
        assert_eq!(r.accept(&s(6)), Verdict::Duplicate);
        assert_eq!(
            r.accept(&s(10)),
            Verdict::AfterGap {
                first_missing: 7,
                missing: 3
            }
        );
        assert_eq!(r.ack_seq(), Some(10));
        assert_eq!(r.lost(), 3);
    }

    #[test]
    fn resume_and_wrap() {
        let mut r = Receiver::resume(u32::MAX - 1);
        assert_eq!(r.accept(&s(u32::MAX - 1)), Verdict::Duplicate);
        assert_eq!(r.accept(&s(u32::MAX)), Verdict::New);
        assert_eq!(r.accept(&s(0)), Verdict::New);
        assert_eq!(
            r.accept(&s(3)),
            Verdict::AfterGap {
                first_missing: 1,
                missing: 2
            }
        );
        assert_eq!(r.accept(&s(u32::MAX)), Verdict::Duplicate);
    }
}
