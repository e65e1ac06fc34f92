//! Where the samples go: the CSV files, one per firmware boot, and the order "on disk, then
//! acknowledged".
//!
//! # Files
//!
//! For `--csv imu.csv`:
//!
//! * `imu.csv`: the log of the current firmware boot. Row 0 is the header [`HEADER`], then one
//!   row per sample; nothing else (no comment line), so any CSV reader takes it as is.
//! * `imu.csv.boot`: the boot id `imu.csv` belongs to, one line `boot_id=1a2b3c4d` (8 hex
//!   digits). Written (to a temporary file, fsynced, renamed) before the first row of that
//!   boot, so a row is never in `imu.csv` without its boot id next to it.
//! * `imu.<boot id>.csv`, e.g. `imu.1a2b3c4d.csv`: the complete log of an earlier boot. When a
//!   batch of a new boot arrives, `imu.csv` is fsynced and renamed to the old boot's name, and
//!   a fresh `imu.csv` starts with the header. A name already taken gets `-2`, `-3`, …
//!   (`imu.1a2b3c4d-2.csv`); no file is ever overwritten.
//! * `imu.unknown-boot.csv`: an `imu.csv` with samples but no `imu.csv.boot` (written by the
//!   version-1 logger), moved aside when the logger starts, since its sequence numbers cannot be
//!   matched to any boot.
//!
//! A restarted logger resumes `imu.csv` after its last sequence number only for the boot named
//! in `imu.csv.boot`; batches of any other boot rotate the file as above.
//!
//! # On disk, then acknowledged
//!
//! [`store_batch`] appends a batch's new rows, then [`SampleLog::commit`]s them (flush of the
//! `BufWriter`, then `fdatasync`), and only then sends the ack: the firmware frees only samples
//! that survive a Linux crash. One commit per batch: 10 fsyncs/s at 100 Hz with 100 ms batches
//! (more while a backlog of up to 30 batches is resent after an outage); see the crate
//! documentation for the measured cost.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use imu_proto::receiver::{Receiver, Verdict};
use imu_proto::wire::{Batch, Command, Sample};

/// Row 0 of every CSV log.
pub const HEADER: &str = "sequence,timestamp_ms,accel_norm_m_s2,mag_norm_ut,gyro_norm_dps";

/// Counts of a `log` run, for its summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows written, over all boots.
    pub written: u64,
    /// Samples received again and ignored.
    pub duplicates: u64,
    /// Samples missing in gaps of sequence numbers within a boot.
    pub lost: u64,
    /// Firmware restarts seen (batches of a new boot id after another one).
    pub restarts: u64,
    /// `dropped_total` of the last batch.
    pub firmware_dropped: u32,
    /// `dropped_unsent` of the last batch.
    pub firmware_dropped_unsent: u32,
    /// Messages that were not valid batches.
    pub bad_messages: u64,
}

/// The storage of samples, as [`store_batch`] uses it.
pub trait SampleLog {
    /// Samples of boot `new` follow. `old`: the boot of the samples stored so far, `None` when
    /// there are none (a fresh log). With `Some`, the log of `old` is complete.
    fn begin_boot(&mut self, old: Option<NonZeroU32>, new: NonZeroU32) -> io::Result<()>;
    /// Appends one sample (not durable yet).
    fn append(&mut self, s: &Sample) -> io::Result<()>;
    /// Makes every appended sample durable; returns once they are on disk.
    fn commit(&mut self) -> io::Result<()>;
}

/// Stores the new samples of `batch` in `log` and acknowledges them: classify each sample with
/// `rx`, start a new log on a new boot, append the new ones, commit, and only then call
/// `send_ack` with [`Receiver::ack`]. Also acks a batch of duplicates only, so that the firmware
/// frees what an earlier run stored.
///
/// # Errors
/// The first error of `log` (then nothing is acknowledged) or of `send_ack`.
pub fn store_batch<L: SampleLog, E: From<io::Error>>(
    rx: &mut Receiver,
    log: &mut L,
    batch: &Batch<'_>,
    sum: &mut Summary,
    send_ack: impl FnOnce(Command) -> Result<(), E>,
) -> Result<(), E> {
    let info = &batch.info;
    sum.firmware_dropped = info.dropped_total;
    sum.firmware_dropped_unsent = info.dropped_unsent;
    for s in batch.samples {
        match rx.accept(info.boot_id, s) {
            Verdict::Duplicate => {
                sum.duplicates += 1;
                continue;
            }
            Verdict::AfterGap {
                first_missing,
                missing,
            } => {
                sum.lost += u64::from(missing);
                eprintln!(
                    "loss: {missing} samples (sequence {first_missing}..={}) dropped by the firmware; \
                     firmware dropped_total {}, never sent {}",
                    s.seq.get().wrapping_sub(1),
                    info.dropped_total,
                    info.dropped_unsent
                );
            }
            Verdict::NewBoot { old, new } => {
                if old.is_some() {
                    sum.restarts += 1;
                }
                log.begin_boot(old, new)?;
            }
            Verdict::New => {}
        }
        log.append(s)?;
        sum.written += 1;
    }
    // On disk first, then acknowledged: the firmware frees only what is stored.
    log.commit()?;
    match rx.ack() {
        Some(ack) => send_ack(ack),
        None => Ok(()),
    }
}

/// The boot file next to `csv`: `imu.csv` → `imu.csv.boot`.
pub fn boot_file(csv: &Path) -> PathBuf {
    let mut name = csv.file_name().unwrap_or_default().to_os_string();
    name.push(".boot");
    csv.with_file_name(name)
}

/// Content of the boot file for `boot_id`: `boot_id=1a2b3c4d` and a newline.
pub fn format_boot_file(boot_id: NonZeroU32) -> String {
    format!("boot_id={boot_id:08x}\n")
}

/// The boot id in a boot file's content; `None` when it is not `boot_id=<hex>` or is 0.
pub fn parse_boot_file(text: &str) -> Option<NonZeroU32> {
    let hex = text.trim().strip_prefix("boot_id=")?;
    NonZeroU32::new(u32::from_str_radix(hex, 16).ok()?)
}

/// Where the complete log of boot `old` goes: `dir/imu.csv` → `dir/imu.<old as 8 hex
/// digits>.csv`, `dir/imu.unknown-boot.csv` for `None`. When `exists` says the name is taken,
/// `-2`, `-3`, … is added to the boot part until it is not.
pub fn archive_path(
    csv: &Path,
    old: Option<NonZeroU32>,
    exists: impl Fn(&Path) -> bool,
) -> PathBuf {
    let stem = csv.file_stem().unwrap_or_default().to_string_lossy();
    let ext = csv
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tag = old.map_or_else(|| "unknown-boot".to_owned(), |b| format!("{b:08x}"));
    (1u32..)
        .map(|n| {
            let tag = if n == 1 {
                tag.clone()
            } else {
                format!("{tag}-{n}")
            };
            csv.with_file_name(format!("{stem}.{tag}{ext}"))
        })
        .find(|p| !exists(p))
        .expect("some suffix is free")
}

/// What a starting logger does with the log it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Startup {
    /// No samples in the log: append to it (or create it) and take any boot.
    Fresh,
    /// Continue after `last_seq` of boot `boot_id`.
    Resume {
        /// Boot named in the boot file.
        boot_id: NonZeroU32,
        /// Last sequence number in the log.
        last_seq: u32,
    },
    /// Samples of an unknown boot (no valid boot file): move the log aside, start fresh.
    ArchiveUnknown,
}

/// The decision from the last sequence number in the log and the boot file's boot id.
pub fn startup(last_seq: Option<u32>, boot_id: Option<NonZeroU32>) -> Startup {
    match (last_seq, boot_id) {
        (None, _) => Startup::Fresh,
        (Some(last_seq), Some(boot_id)) => Startup::Resume { boot_id, last_seq },
        (Some(_), None) => Startup::ArchiveUnknown,
    }
}

/// What [`scan`] found in a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Sequence number of the last complete sample row.
    pub last_seq: Option<u32>,
    /// Bytes up to the end of the last complete line; beyond it, a line cut by a crash.
    pub complete_len: u64,
}

/// Reads a log: its last sequence number and where its last complete line ends.
///
/// # Errors
/// Read errors of `r`.
pub fn scan(mut r: impl BufRead) -> io::Result<Scan> {
    let mut scan = Scan {
        last_seq: None,
        complete_len: 0,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(scan);
        }
        scan.complete_len += n as u64;
        let text = String::from_utf8_lossy(&line);
        let fields: Vec<&str> = text.trim_end().split(',').collect();
        if let (5, Ok(seq)) = (fields.len(), fields[0].parse::<u32>()) {
            scan.last_seq = Some(seq);
        }
    }
}

/// fsync of a directory, so that renames and new files in it are durable. Best effort: some
/// file systems refuse fsync on a directory.
fn sync_dir(file: &Path) {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The CSV files of one `--csv` path (see the module documentation).
pub struct CsvLog {
    path: PathBuf,
    out: BufWriter<File>,
    /// Boot id in the boot file.
    boot_id: Option<NonZeroU32>,
    dirty: bool,
}

impl CsvLog {
    /// Opens the log at `csv` for a starting logger and returns it with the receiver to use:
    /// resumed after the last sequence number when the boot file names its boot, fresh
    /// otherwise. A log with samples but no valid boot file is moved aside first
    /// ([`archive_path`] with `None`). A line cut by a crash at the end is removed (it was
    /// never acknowledged). The existing rows are fsynced before anything is acknowledged.
    ///
    /// # Errors
    /// I/O errors reading, renaming, creating or syncing the files.
    pub fn open(csv: &Path) -> io::Result<(Self, Receiver)> {
        let found = match File::open(csv) {
            Ok(f) => Some(scan(BufReader::new(f))?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let boot_id = match fs::read_to_string(boot_file(csv)) {
            Ok(text) => parse_boot_file(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let plan = startup(found.and_then(|s| s.last_seq), boot_id);
        if plan == Startup::ArchiveUnknown {
            let to = archive_path(csv, None, Path::exists);
            fs::rename(csv, &to)?;
            sync_dir(csv);
            eprintln!(
                "{} has no boot id ({} missing): moved to {}",
                csv.display(),
                boot_file(csv).display(),
                to.display()
            );
        }
        let mut file = OpenOptions::new().create(true).append(true).open(csv)?;
        let len = file.metadata()?.len();
        let complete = match (plan, found) {
            (Startup::ArchiveUnknown, _) | (_, None) => 0,
            (_, Some(s)) => s.complete_len,
        };
        if complete < len {
            eprintln!(
                "{}: removing an incomplete last line ({} bytes)",
                csv.display(),
                len - complete
            );
            file.set_len(complete)?;
            file.seek(io::SeekFrom::End(0))?;
        }
        let mut log = Self {
            path: csv.to_owned(),
            out: BufWriter::new(file),
            boot_id,
            dirty: true,
        };
        if complete == 0 {
            writeln!(log.out, "{HEADER}")?;
        }
        log.commit()?;
        let rx = match plan {
            Startup::Resume { boot_id, last_seq } => {
                eprintln!(
                    "appending to {} after sequence {last_seq} of boot {boot_id:08x}",
                    csv.display()
                );
                Receiver::resume(boot_id, last_seq)
            }
            _ => {
                eprintln!("writing {}", csv.display());
                Receiver::new()
            }
        };
        Ok((log, rx))
    }

    /// The boot file names `boot_id`: written to a temporary file, fsynced and renamed.
    fn write_boot_file(&mut self, boot_id: NonZeroU32) -> io::Result<()> {
        let path = boot_file(&self.path);
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let mut f = File::create(&tmp)?;
        f.write_all(format_boot_file(boot_id).as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        sync_dir(&path);
        self.boot_id = Some(boot_id);
        Ok(())
    }
}

impl SampleLog for CsvLog {
    fn begin_boot(&mut self, old: Option<NonZeroU32>, new: NonZeroU32) -> io::Result<()> {
        if let Some(old) = old {
            // The old boot's log is complete: durable, then moved aside.
            self.commit()?;
            let to = archive_path(&self.path, Some(old), Path::exists);
            fs::rename(&self.path, &to)?;
            eprintln!(
                "firmware restarted: boot {new:08x} after {old:08x}; {} moved to {}, \
                 sequence numbers start over in a new {}",
                self.path.display(),
                to.display(),
                self.path.display()
            );
            // Boot file before any row of the new boot.
            self.write_boot_file(new)?;
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.path)?;
            self.out = BufWriter::new(file);
            writeln!(self.out, "{HEADER}")?;
            self.dirty = true;
            self.commit()?;
            sync_dir(&self.path);
        } else if self.boot_id != Some(new) {
            self.write_boot_file(new)?;
        }
        Ok(())
    }

    fn append(&mut self, s: &Sample) -> io::Result<()> {
        self.dirty = true;
        writeln!(
            self.out,
            "{},{},{:.4},{:.3},{:.3}",
            s.seq.get(),
            s.timestamp_ms.get(),
            s.accel.get(),
            s.mag.get(),
            s.gyro.get()
        )
    }

    fn commit(&mut self) -> io::Result<()> {
        if self.dirty {
            self.out.flush()?;
            self.out.get_ref().sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::time::Instant;

    use imu_proto::wire::{boot_id, BatchInfo};

    use super::*;

    const A: NonZeroU32 = boot_id(0x0000_000a);
    const B: NonZeroU32 = boot_id(0xb0b0_b0b0);
    const C: NonZeroU32 = boot_id(0xc0ff_ee00);

    fn samples(seqs: impl IntoIterator<Item = u32>) -> Vec<Sample> {
        seqs.into_iter()
            .map(|i| Sample::new(i, i * 10, 9.8, 44.7, 1.0))
            .collect()
    }

    fn batch(boot_id: NonZeroU32, s: &[Sample]) -> Batch<'_> {
        Batch {
            info: BatchInfo {
                boot_id,
                dropped_total: 0,
                dropped_unsent: 0,
                buffered: s.len() as u16,
            },
            samples: s,
        }
    }

    /// A fresh, empty directory for one test.
    fn tmp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("imu-logger-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn seqs_in(csv: &Path) -> Vec<u32> {
        let text = fs::read_to_string(csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER), "row 0 is the header");
        lines
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect()
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        Begin(Option<NonZeroU32>, NonZeroU32),
        Append(u32),
        Commit,
        Ack(Command),
    }

    /// Records what [`store_batch`] does, in order, in a list shared with the ack sender.
    struct FakeLog<'a> {
        events: &'a RefCell<Vec<Event>>,
        fail_commit: bool,
    }

    impl SampleLog for FakeLog<'_> {
        fn begin_boot(&mut self, old: Option<NonZeroU32>, new: NonZeroU32) -> io::Result<()> {
            self.events.borrow_mut().push(Event::Begin(old, new));
            Ok(())
        }
        fn append(&mut self, s: &Sample) -> io::Result<()> {
            self.events.borrow_mut().push(Event::Append(s.seq.get()));
            Ok(())
        }
        fn commit(&mut self) -> io::Result<()> {
            if self.fail_commit {
                return Err(io::Error::other("disk full"));
            }
            self.events.borrow_mut().push(Event::Commit);
            Ok(())
        }
    }

    fn run(
        rx: &mut Receiver,
        fail_commit: bool,
        b: &Batch<'_>,
        sum: &mut Summary,
    ) -> (io::Result<()>, Vec<Event>) {
        let events = RefCell::new(Vec::new());
        let mut log = FakeLog {
            events: &events,
            fail_commit,
        };
        let r = store_batch(rx, &mut log, b, sum, |ack| {
            events.borrow_mut().push(Event::Ack(ack));
            Ok::<(), io::Error>(())
        });
        (r, events.into_inner())
    }

    #[test]
    fn rows_are_committed_before_the_ack() {
        let mut rx = Receiver::new();
        let mut sum = Summary::default();
        let s = samples(0..3);
        let (r, ev) = run(&mut rx, false, &batch(A, &s), &mut sum);
        r.unwrap();
        use Event::*;
        assert_eq!(
            ev,
            [
                Begin(None, A),
                Append(0),
                Append(1),
                Append(2),
                Commit,
                Ack(Command::Ack { boot_id: A, seq: 2 })
            ]
        );
        // Duplicates only: nothing appended, still committed then acked (frees the firmware).
        let (r, ev) = run(&mut rx, false, &batch(A, &s), &mut sum);
        r.unwrap();
        assert_eq!(ev, [Commit, Ack(Command::Ack { boot_id: A, seq: 2 })]);
        assert_eq!((sum.written, sum.duplicates), (3, 3));
    }

    #[test]
    fn no_ack_when_the_commit_fails() {
        let mut rx = Receiver::new();
        let s = samples(0..2);
        let (r, ev) = run(&mut rx, true, &batch(A, &s), &mut Summary::default());
        assert_eq!(r.unwrap_err().to_string(), "disk full");
        assert!(
            !ev.iter().any(|e| matches!(e, Event::Ack(_))),
            "acked what is not on disk: {ev:?}"
        );
    }

    #[test]
    fn a_new_boot_begins_a_new_log_before_its_rows() {
        let mut rx = Receiver::resume(A, 5000);
        let mut sum = Summary::default();
        let s = samples(0..2);
        let (r, ev) = run(&mut rx, false, &batch(B, &s), &mut sum);
        r.unwrap();
        use Event::*;
        assert_eq!(
            ev,
            [
                Begin(Some(A), B),
                Append(0),
                Append(1),
                Commit,
                Ack(Command::Ack { boot_id: B, seq: 1 })
            ]
        );
        assert_eq!(
            (sum.written, sum.duplicates, sum.lost, sum.restarts),
            (2, 0, 0, 1)
        );
    }

    #[test]
    fn file_names() {
        let csv = Path::new("/data/imu.csv");
        assert_eq!(boot_file(csv), Path::new("/data/imu.csv.boot"));
        let none = |_: &Path| false;
        assert_eq!(
            archive_path(csv, Some(B), none),
            Path::new("/data/imu.b0b0b0b0.csv")
        );
        assert_eq!(
            archive_path(csv, Some(A), none),
            Path::new("/data/imu.0000000a.csv"),
            "8 hex digits"
        );
        assert_eq!(
            archive_path(csv, None, none),
            Path::new("/data/imu.unknown-boot.csv")
        );
        assert_eq!(
            archive_path(Path::new("log"), Some(A), none),
            Path::new("log.0000000a")
        );
        let taken = |p: &Path| {
            p == Path::new("/data/imu.0000000a.csv") || p == Path::new("/data/imu.0000000a-2.csv")
        };
        assert_eq!(
            archive_path(csv, Some(A), taken),
            Path::new("/data/imu.0000000a-3.csv"),
            "never overwrites"
        );
    }

    #[test]
    fn boot_file_content() {
        assert_eq!(format_boot_file(B), "boot_id=b0b0b0b0\n");
        assert_eq!(parse_boot_file(&format_boot_file(A)), Some(A));
        assert_eq!(
            parse_boot_file("boot_id=00000000\n"),
            None,
            "0 is no boot id"
        );
        assert_eq!(parse_boot_file("boot_id=xyz"), None);
        assert_eq!(parse_boot_file(""), None);
    }

    #[test]
    fn startup_decision() {
        assert_eq!(startup(None, None), Startup::Fresh);
        assert_eq!(startup(None, Some(A)), Startup::Fresh);
        assert_eq!(
            startup(Some(7), Some(A)),
            Startup::Resume {
                boot_id: A,
                last_seq: 7
            }
        );
        assert_eq!(startup(Some(7), None), Startup::ArchiveUnknown);
    }

    #[test]
    fn scan_finds_last_complete_row() {
        let s = |t: &str| scan(t.as_bytes()).unwrap();
        let header = format!("{HEADER}\n");
        assert_eq!(
            s(&header),
            Scan {
                last_seq: None,
                complete_len: header.len() as u64
            }
        );
        let rows = format!("{header}4,40,9.8,44.7,1.0\n5,50,9.8,44.7,1.0\n");
        assert_eq!(s(&rows).last_seq, Some(5));
        let cut = format!("{rows}6,60,9.8");
        assert_eq!(
            s(&cut),
            Scan {
                last_seq: Some(5),
                complete_len: rows.len() as u64
            },
            "a cut line is not a sample"
        );
    }

    /// The whole life of one `--csv` path across firmware restarts and logger restarts.
    #[test]
    fn rotation_on_disk() {
        let dir = tmp_dir("rotation");
        let csv = dir.join("imu.csv");
        let ack = |_| Ok::<(), io::Error>(());
        let mut sum = Summary::default();

        // Fresh start, boot A: header, boot file, rows.
        let (mut log, mut rx) = CsvLog::open(&csv).unwrap();
        store_batch(&mut rx, &mut log, &batch(A, &samples(0..3)), &mut sum, ack).unwrap();
        assert_eq!(
            fs::read_to_string(boot_file(&csv)).unwrap(),
            "boot_id=0000000a\n"
        );
        assert_eq!(seqs_in(&csv), [0, 1, 2]);

        // The firmware restarts (boot B): A's log is kept under A's name.
        store_batch(&mut rx, &mut log, &batch(B, &samples(0..2)), &mut sum, ack).unwrap();
        assert_eq!(seqs_in(&dir.join("imu.0000000a.csv")), [0, 1, 2]);
        assert_eq!(
            seqs_in(&csv),
            [0, 1],
            "not dropped as duplicates of A's 0 and 1"
        );
        assert_eq!(
            fs::read_to_string(boot_file(&csv)).unwrap(),
            "boot_id=b0b0b0b0\n"
        );
        drop(log);

        // The logger restarts, same boot B: resumes.
        let (mut log, mut rx) = CsvLog::open(&csv).unwrap();
        assert_eq!(rx.ack(), Some(Command::Ack { boot_id: B, seq: 1 }));
        store_batch(&mut rx, &mut log, &batch(B, &samples(0..4)), &mut sum, ack).unwrap();
        assert_eq!(seqs_in(&csv), [0, 1, 2, 3]);
        drop(log);

        // The logger restarts and the firmware has restarted meanwhile (boot C): B's log is
        // kept, C's sequence numbers are not resumed after B's.
        let (mut log, mut rx) = CsvLog::open(&csv).unwrap();
        store_batch(&mut rx, &mut log, &batch(C, &samples(0..2)), &mut sum, ack).unwrap();
        assert_eq!(seqs_in(&dir.join("imu.b0b0b0b0.csv")), [0, 1, 2, 3]);
        assert_eq!(seqs_in(&csv), [0, 1]);
        assert_eq!(sum.restarts, 2);
        assert_eq!(
            sum.duplicates, 2,
            "only B's 0 and 1 resent to the restarted logger"
        );

        // Boot A again (ids are random): its second log must not overwrite the first.
        store_batch(&mut rx, &mut log, &batch(A, &samples(0..1)), &mut sum, ack).unwrap();
        assert_eq!(seqs_in(&dir.join("imu.c0ffee00.csv")), [0, 1]);
        store_batch(&mut rx, &mut log, &batch(C, &samples(7..8)), &mut sum, ack).unwrap();
        assert_eq!(seqs_in(&dir.join("imu.0000000a.csv")), [0, 1, 2]);
        assert_eq!(seqs_in(&dir.join("imu.0000000a-2.csv")), [0]);
        assert_eq!(seqs_in(&csv), [7]);
        assert_eq!(sum.lost, 0, "no gap across boots");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_log_without_boot_id_is_moved_aside() {
        let dir = tmp_dir("legacy");
        let csv = dir.join("imu.csv");
        fs::write(
            &csv,
            format!("{HEADER}\n0,0,9.8,44.7,1.0\n1,10,9.8,44.7,1.0\n"),
        )
        .unwrap();
        let (_log, rx) = CsvLog::open(&csv).unwrap();
        assert_eq!(rx.boot_id(), None, "fresh: any boot, any sequence number");
        assert_eq!(seqs_in(&dir.join("imu.unknown-boot.csv")), [0, 1]);
        assert_eq!(seqs_in(&csv), [] as [u32; 0]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cut_last_line_is_removed_on_resume() {
        let dir = tmp_dir("cut");
        let csv = dir.join("imu.csv");
        fs::write(&csv, format!("{HEADER}\n0,0,9.8,44.7,1.0\n1,10,9.")).unwrap();
        fs::write(boot_file(&csv), format_boot_file(A)).unwrap();
        let (mut log, mut rx) = CsvLog::open(&csv).unwrap();
        assert_eq!(rx.ack(), Some(Command::Ack { boot_id: A, seq: 0 }));
        let ack = |_| Ok::<(), io::Error>(());
        let s = samples(1..3);
        store_batch(
            &mut rx,
            &mut log,
            &batch(A, &s),
            &mut Summary::default(),
            ack,
        )
        .unwrap();
        assert_eq!(seqs_in(&csv), [0, 1, 2]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The cost of "on disk, then acknowledged": one commit (10 rows, flush, fdatasync) per
    /// 100 ms batch. `cargo test -p imu-logger --release -- --ignored --nocapture fsync_cost`;
    /// set `IMU_LOGGER_BENCH_DIR` to measure on another file system than the temp dir's.
    #[test]
    #[ignore = "measurement, not a check"]
    fn fsync_cost() {
        let dir = std::env::var_os("IMU_LOGGER_BENCH_DIR").map_or_else(
            || tmp_dir("bench"),
            |d| PathBuf::from(d).join("imu-logger-bench"),
        );
        fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("imu.csv");
        let _ = fs::remove_file(&csv);
        let (mut log, mut rx) = CsvLog::open(&csv).unwrap();
        let mut sum = Summary::default();
        let n = 200u32;
        let t = Instant::now();
        for i in 0..n {
            let s = samples(i * 10..i * 10 + 10);
            store_batch(&mut rx, &mut log, &batch(A, &s), &mut sum, |_| {
                Ok::<(), io::Error>(())
            })
            .unwrap();
        }
        let per = t.elapsed() / n;
        println!(
            "{}: {per:?} per 10-row batch with fdatasync; at 10 batches/s, waiting {:.2} % of the time",
            dir.display(),
            per.as_secs_f64() * 10.0 * 100.0
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
