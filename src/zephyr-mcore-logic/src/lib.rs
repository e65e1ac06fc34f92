//! The pure logic of `zephyr-mcore`, free of Zephyr so that `cargo test` runs it on the host.
//! The firmware crate calls it; nothing here touches hardware.

#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

/// Zephyr I2C message flags (`zephyr/drivers/i2c.h`) for an embedded-hal 1.0 transaction.
pub mod i2c {
    /// `I2C_MSG_READ`: read message (else write).
    pub const MSG_READ: u8 = 1 << 0;
    /// `I2C_MSG_STOP`: send STOP after this message.
    pub const MSG_STOP: u8 = 1 << 1;
    /// `I2C_MSG_RESTART`: repeated START before this message.
    pub const MSG_RESTART: u8 = 1 << 2;

    /// The `flags` of each `struct i2c_msg` for operations whose directions are `reads`
    /// (`true` = read), following embedded-hal's `I2c::transaction` contract: adjacent
    /// operations of the same direction are one transfer (no repeated START between them), a
    /// change of direction gets a repeated START (`I2C_MSG_RESTART`), and the last operation
    /// ends with STOP (`I2C_MSG_STOP`). Zephyr's `i2c_transfer()` sends the START of the first
    /// message itself.
    pub fn msg_flags(reads: impl ExactSizeIterator<Item = bool>) -> impl Iterator<Item = u8> {
        let n = reads.len();
        let mut prev: Option<bool> = None;
        reads.enumerate().map(move |(i, read)| {
            let mut f = if read { MSG_READ } else { 0 };
            if prev.is_some_and(|p| p != read) {
                f |= MSG_RESTART;
            }
            if i + 1 == n {
                f |= MSG_STOP;
            }
            prev = Some(read);
            f
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn flags(reads: &[bool]) -> Vec<u8> {
            msg_flags(reads.iter().copied()).collect()
        }

        #[test]
        fn register_read_is_write_then_restart_read_with_stop() {
            // write_read(addr, &[reg], &mut buf): the FXOS8700/FXAS21002 register read.
            assert_eq!(
                flags(&[false, true]),
                [0, MSG_RESTART | MSG_READ | MSG_STOP]
            );
        }

        #[test]
        fn single_operations_end_with_stop() {
            assert_eq!(flags(&[false]), [MSG_STOP]);
            assert_eq!(flags(&[true]), [MSG_READ | MSG_STOP]);
            assert!(flags(&[]).is_empty());
        }

        #[test]
        fn same_direction_is_one_transfer_and_each_change_restarts() {
            assert_eq!(flags(&[false, false]), [0, MSG_STOP]);
            assert_eq!(
                flags(&[false, false, true, true, false]),
                [
                    0,
                    0,
                    MSG_RESTART | MSG_READ,
                    MSG_READ,
                    MSG_RESTART | MSG_STOP
                ]
            );
        }

        #[test]
        fn values_are_zephyrs() {
            // include/zephyr/drivers/i2c.h: BIT(0) READ, BIT(1) STOP, BIT(2) RESTART.
            assert_eq!((MSG_READ, MSG_STOP, MSG_RESTART), (0b001, 0b010, 0b100));
        }
    }
}
