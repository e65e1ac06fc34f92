//! OpenAMP's RPMsg error codes (`RPMSG_ERR_*`, `open-amp/lib/include/openamp/rpmsg.h`), so that
//! the firmware's error mapping is one table, tested on the host.

/// An OpenAMP `RPMSG_ERR_*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpmsgErr {
    /// `RPMSG_ERR_NO_MEM` (-2001): out of memory.
    NoMem,
    /// `RPMSG_ERR_NO_BUFF` (-2002): no free buffer.
    NoBuff,
    /// `RPMSG_ERR_PARAM` (-2003): invalid parameter.
    Param,
    /// `RPMSG_ERR_DEV_STATE` (-2004): the device is not in a usable state.
    DevState,
    /// `RPMSG_ERR_BUFF_SIZE` (-2005): the payload does not fit a buffer.
    BuffSize,
    /// `RPMSG_ERR_INIT` (-2006): initialisation failed.
    Init,
    /// `RPMSG_ERR_ADDR` (-2007): invalid or unknown address.
    Addr,
    /// `RPMSG_ERR_PERM` (-2008): operation not permitted.
    Perm,
    /// `RPMSG_EOPNOTSUPP` (-2009): not supported.
    NotSupported,
}

/// `RPMSG_ERROR_BASE`.
pub const RPMSG_ERROR_BASE: i32 = -2000;

impl RpmsgErr {
    /// The `RPMSG_ERR_*` a return code names, or `None` for anything else (success, or a
    /// negative errno that libmetal or Zephyr passed through).
    pub fn from_code(code: i32) -> Option<Self> {
        use RpmsgErr::*;
        Some(match code.checked_sub(RPMSG_ERROR_BASE)? {
            -1 => NoMem,
            -2 => NoBuff,
            -3 => Param,
            -4 => DevState,
            -5 => BuffSize,
            -6 => Init,
            -7 => Addr,
            -8 => Perm,
            -9 => NotSupported,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_openamp_rpmsg_h() {
        assert_eq!(RpmsgErr::from_code(-2001), Some(RpmsgErr::NoMem));
        assert_eq!(RpmsgErr::from_code(-2002), Some(RpmsgErr::NoBuff));
        assert_eq!(RpmsgErr::from_code(-2005), Some(RpmsgErr::BuffSize));
        assert_eq!(RpmsgErr::from_code(-2007), Some(RpmsgErr::Addr));
        assert_eq!(RpmsgErr::from_code(-2009), Some(RpmsgErr::NotSupported));
        // Neighbours, errnos, success and the extremes are not RPMsg codes.
        for c in [-2000, -2010, -11, 0, 496, i32::MIN, i32::MAX] {
            assert_eq!(RpmsgErr::from_code(c), None, "{c}");
        }
    }
}
