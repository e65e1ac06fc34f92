//! The firmware's sample buffer: unacknowledged samples, oldest first, with a send cursor.
//!
//! * A sample is freed only when Linux acknowledges it ([`SampleBuffer::ack`]), and only by an
//!   ack for this boot's id: an ack meant for a previous boot is refused ([`StaleAck`]).
//! * When the buffer is full, [`SampleBuffer::push`] drops the oldest sample and counts it
//!   ([`SampleBuffer::dropped`]): Linux sees a gap in the sequence numbers and the count in
//!   every batch header. No loss is silent.
//! * [`SampleBuffer::rewind`] moves the send cursor back to the oldest unacknowledged sample,
//!   for when Linux comes back after a heartbeat loss.
//! * [`SampleBuffer::batch_info`] gives the header fields of the next batch (boot id and
//!   counters) for [`encode_batch`](crate::wire::encode_batch).

use core::fmt;
use core::num::NonZeroU32;

use heapless::Deque;

use crate::seq_after;
use crate::wire::{BatchInfo, Sample, MAX_BATCH};

/// An ack for another boot than the buffer's: nothing was freed.
///
/// It is normal right after a firmware restart: the ack Linux sent for the previous boot's
/// batches arrives at the new firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleAck {
    /// Boot id the ack names.
    pub acked: NonZeroU32,
    /// The buffer's (this boot's) id.
    pub current: NonZeroU32,
}

impl fmt::Display for StaleAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ignored ack for boot {:08x}: this is boot {:08x}",
            self.acked, self.current
        )
    }
}

impl core::error::Error for StaleAck {}

/// `N` samples (300 in the IMU sample: 3 s at 100 Hz), oldest first.
pub struct SampleBuffer<const N: usize> {
    q: Deque<Sample, N>,
    boot_id: NonZeroU32,
    next_seq: u32,
    cursor: u32,
    /// One past the newest sample ever sent (not moved back by a rewind).
    sent_hw: u32,
    dropped: u32,
    dropped_unsent: u32,
}

impl<const N: usize> SampleBuffer<N> {
    /// An empty buffer for boot `boot_id` (see [`wire::boot_id`](crate::wire::boot_id)), whose
    /// first sample gets sequence number `first_seq` (0 in the IMU sample).
    pub const fn new(boot_id: NonZeroU32, first_seq: u32) -> Self {
        Self {
            q: Deque::new(),
            boot_id,
            next_seq: first_seq,
            cursor: first_seq,
            sent_hw: first_seq,
            dropped: 0,
            dropped_unsent: 0,
        }
    }

    /// Stores a new sample (sensor norms in m/s², µT, dps; time in ms) and returns its sequence
    /// number. When full, the oldest sample is dropped first and counted.
    pub fn push(&mut self, timestamp_ms: u32, accel: f32, mag: f32, gyro: f32) -> u32 {
        let seq = self.next_seq;
        if let Some(old) = self.q.is_full().then(|| self.q.pop_front()).flatten() {
            self.dropped = self.dropped.wrapping_add(1);
            if !seq_after(self.sent_hw, old.seq.get()) {
                self.dropped_unsent = self.dropped_unsent.wrapping_add(1);
            }
        }
        // Cannot fail: one slot is free now.
        let _ = self
            .q
            .push_back(Sample::new(seq, timestamp_ms, accel, mag, gyro));
        self.next_seq = seq.wrapping_add(1);
        self.clamp_cursor();
        seq
    }

    fn oldest(&self) -> u32 {
        self.q.front().map_or(self.next_seq, |s| s.seq.get())
    }

    /// The cursor never points before the oldest buffered sample (dropped ones are gone) nor
    /// after the newest.
    fn clamp_cursor(&mut self) {
        let oldest = self.oldest();
        if seq_after(oldest, self.cursor) {
            self.cursor = oldest;
        }
        if seq_after(self.cursor, self.next_seq) {
            self.cursor = self.next_seq;
        }
    }

    /// Applies Linux's ack of boot `boot_id` up to and including `seq`: frees those samples
    /// and returns how many were freed. An ack for samples not sent yet also moves the cursor
    /// past them.
    ///
    /// # Errors
    /// [`StaleAck`] when `boot_id` is not this buffer's boot id (an ack meant for a previous
    /// boot); nothing is freed.
    pub fn ack(&mut self, boot_id: NonZeroU32, seq: u32) -> Result<usize, StaleAck> {
        if boot_id != self.boot_id {
            return Err(StaleAck {
                acked: boot_id,
                current: self.boot_id,
            });
        }
        let mut n = 0;
        while let Some(s) = self.q.front() {
            if seq_after(s.seq.get(), seq) {
                break;
            }
            self.q.pop_front();
            n += 1;
        }
        self.clamp_cursor();
        Ok(n)
    }

    /// Next send starts again at the oldest unacknowledged sample.
    pub fn rewind(&mut self) {
        self.cursor = self.oldest();
    }

    /// Linux stopped confirming (heartbeat lost, or the RPMsg link went down): samples sent
    /// but not acknowledged may never have been stored (a batch that reached an endpoint Linux
    /// was closing, or rings a crashing kernel never read). From now on they count as unsent:
    /// if the buffer overflows before Linux is back, dropping them adds to
    /// [`SampleBuffer::dropped_unsent`], which so stays equal to the gap Linux sees. Rewinds too.
    pub fn unconfirm(&mut self) {
        self.rewind();
        self.sent_hw = self.cursor;
    }

    /// Copies up to [`MAX_BATCH`] unsent samples, oldest first, into `out`, without moving the
    /// cursor. Returns how many (0: nothing to send). Call [`SampleBuffer::mark_sent`] once they
    /// are sent, so that a failed send loses nothing.
    pub fn peek_unsent(&self, out: &mut [Sample; MAX_BATCH]) -> usize {
        let skip = self.cursor.wrapping_sub(self.oldest()) as usize;
        let mut n = 0;
        for (slot, s) in out.iter_mut().zip(self.q.iter().skip(skip)) {
            *slot = *s;
            n += 1;
        }
        n
    }

    /// Moves the cursor past `n` samples returned by [`SampleBuffer::peek_unsent`].
    pub fn mark_sent(&mut self, n: usize) {
        self.cursor = self.cursor.wrapping_add(n.min(self.unsent()) as u32);
        if seq_after(self.cursor, self.sent_hw) {
            self.sent_hw = self.cursor;
        }
    }

    /// Samples not sent since the last rewind.
    pub fn unsent(&self) -> usize {
        self.next_seq.wrapping_sub(self.cursor) as usize
    }

    /// Samples buffered (all unacknowledged).
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// `true` when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Samples dropped unacknowledged because the buffer was full, since creation (wraps).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// The part of [`SampleBuffer::dropped`] that was never sent: certainly lost for Linux.
    /// The rest was sent at least once but not acknowledged; Linux may have stored it.
    pub fn dropped_unsent(&self) -> u32 {
        self.dropped_unsent
    }

    /// Sequence number the next sample will get.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// The boot id given to [`SampleBuffer::new`].
    pub fn boot_id(&self) -> NonZeroU32 {
        self.boot_id
    }

    /// Header fields for the next batch: boot id, [`SampleBuffer::dropped`],
    /// [`SampleBuffer::dropped_unsent`] and [`SampleBuffer::len`] (saturated to `u16::MAX`).
    pub fn batch_info(&self) -> BatchInfo {
        BatchInfo {
            boot_id: self.boot_id,
            dropped_total: self.dropped,
            dropped_unsent: self.dropped_unsent,
            buffered: u16::try_from(self.q.len()).unwrap_or(u16::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::boot_id;

    const BOOT: NonZeroU32 = boot_id(0x1234_5678);

    fn seqs(b: &mut SampleBuffer<5>) -> std::vec::Vec<u32> {
        let mut out = [Sample::new(0, 0, 0.0, 0.0, 0.0); MAX_BATCH];
        let n = b.peek_unsent(&mut out);
        b.mark_sent(n);
        out[..n].iter().map(|s| s.seq.get()).collect()
    }

    #[test]
    fn sends_each_sample_once_and_frees_only_acked() {
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        for t in 0..3 {
            b.push(t, 9.8, 45.0, 0.0);
        }
        assert_eq!(seqs(&mut b), [0, 1, 2]);
        assert_eq!(seqs(&mut b), [] as [u32; 0]);
        assert_eq!(b.len(), 3, "sent but unacknowledged samples stay");
        assert_eq!(b.ack(BOOT, 1).unwrap(), 2);
        assert_eq!(b.len(), 1);
        b.rewind();
        assert_eq!(
            seqs(&mut b),
            [2],
            "after a rewind, the oldest unacknowledged is resent"
        );
    }

    #[test]
    fn full_buffer_drops_oldest_and_counts() {
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        for t in 0..8 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(b.dropped(), 3);
        assert_eq!(
            seqs(&mut b),
            [3, 4, 5, 6, 7],
            "gap 0..=2 equals the drop count"
        );
        // A cursor inside the dropped range moves to the oldest kept sample.
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        b.push(0, 0.0, 0.0, 0.0);
        assert_eq!(seqs(&mut b), [0]);
        for t in 1..9 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(b.dropped(), 4);
        assert_eq!(seqs(&mut b), [4, 5, 6, 7, 8]);
    }

    #[test]
    fn drops_of_sent_and_unsent_samples_are_told_apart() {
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        for t in 0..4 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(seqs(&mut b), [0, 1, 2, 3]);
        b.rewind(); // Linux gone and back: everything is resent, but 0..=3 were sent once
        for t in 4..10 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        // 0..=4 dropped: 0..=3 had been sent, 4 never was
        assert_eq!((b.dropped(), b.dropped_unsent()), (5, 1));
        assert_eq!(seqs(&mut b), [5, 6, 7, 8, 9]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut b = SampleBuffer::<5>::new(BOOT, u32::MAX - 2);
        for t in 0..5 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(seqs(&mut b), [u32::MAX - 2, u32::MAX - 1, u32::MAX, 0, 1]);
        assert_eq!(
            b.ack(BOOT, u32::MAX).unwrap(),
            3,
            "serial comparison across the wrap"
        );
        assert_eq!(b.ack(BOOT, 0).unwrap(), 1);
        b.push(5, 0.0, 0.0, 0.0);
        b.push(6, 0.0, 0.0, 0.0);
        assert_eq!(b.unsent(), 2);
        assert_eq!(seqs(&mut b), [2, 3]);
        assert_eq!(b.ack(BOOT, 3).unwrap(), 3);
        assert!(b.is_empty());
    }

    #[test]
    fn a_failed_send_loses_nothing() {
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        b.push(0, 0.0, 0.0, 0.0);
        let mut out = [Sample::new(0, 0, 0.0, 0.0, 0.0); MAX_BATCH];
        assert_eq!(b.peek_unsent(&mut out), 1);
        // send failed: not marked
        assert_eq!(b.unsent(), 1);
        assert_eq!(seqs(&mut b), [0]);
        b.mark_sent(3);
        assert_eq!(b.unsent(), 0, "mark_sent never runs past the newest sample");
    }

    #[test]
    fn stale_or_future_acks_are_harmless() {
        let mut b = SampleBuffer::<5>::new(BOOT, 10);
        for t in 0..3 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(
            b.ack(BOOT, 5).unwrap(),
            0,
            "an ack from before the buffer frees nothing"
        );
        assert_eq!(b.ack(BOOT, 11).unwrap(), 2);
        assert_eq!(seqs(&mut b), [12], "cursor moved past acked samples");
        assert_eq!(b.ack(BOOT, 1000).unwrap(), 1);
        assert_eq!(b.next_seq(), 13);
    }

    #[test]
    fn an_ack_for_another_boot_frees_nothing() {
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        for t in 0..3 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(seqs(&mut b), [0, 1, 2]);
        let old = boot_id(0x0bad_b007);
        // The previous boot had sent far more: its ack for 5000 would free all of these.
        assert_eq!(
            b.ack(old, 5000),
            Err(StaleAck {
                acked: old,
                current: BOOT
            })
        );
        assert_eq!(b.len(), 3, "a stale ack frees nothing");
        b.rewind();
        assert_eq!(seqs(&mut b), [0, 1, 2], "nor moves the cursor");
        assert_eq!(
            std::format!("{}", b.ack(old, 1).unwrap_err()),
            "ignored ack for boot 0badb007: this is boot 12345678"
        );
        assert_eq!(b.ack(BOOT, 1), Ok(2));
    }

    #[test]
    fn batch_info_carries_boot_id_and_counters() {
        let mut b = SampleBuffer::<5>::new(BOOT, 0);
        for t in 0..7 {
            b.push(t, 0.0, 0.0, 0.0);
        }
        assert_eq!(b.boot_id(), BOOT);
        assert_eq!(
            b.batch_info(),
            BatchInfo {
                boot_id: BOOT,
                dropped_total: 2,
                dropped_unsent: 2,
                buffered: 5
            }
        );
    }

    #[test]
    fn unconfirmed_sends_count_as_unsent_when_dropped() {
        let mut b = SampleBuffer::<4>::new(BOOT, 0);
        let mut out = [Sample::new(0, 0, 0.0, 0.0, 0.0); MAX_BATCH];
        for t in 0..4 {
            b.push(t, 9.8, 44.7, 1.0);
        }
        let n = b.peek_unsent(&mut out);
        b.mark_sent(n); // 0..=3 sent, none acknowledged
        b.push(4, 9.8, 44.7, 1.0); // drops 0: sent, so not "unsent"
        assert_eq!((b.dropped(), b.dropped_unsent()), (1, 0));
        b.unconfirm(); // heartbeat lost: Linux never confirmed 1..=3
        b.push(5, 9.8, 44.7, 1.0); // drops 1
        assert_eq!((b.dropped(), b.dropped_unsent()), (2, 1));
        // Everything left is sent again.
        assert_eq!(b.peek_unsent(&mut out), 4);
        assert_eq!(out[0].seq.get(), 2);
    }
}
