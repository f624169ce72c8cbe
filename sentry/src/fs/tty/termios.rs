//! The kernel's `struct termios` (termios(3); 36 bytes, not glibc's larger
//! one) and `struct winsize`, with the defaults Linux gives a new pty.

use crate::errno::{Errno, Result};

/// Size of the kernel's struct termios: four flag words, c_line, c_cc[19].
pub const TERMIOS_SIZE: usize = 36;
/// Number of control characters in the kernel's c_cc.
pub const NCCS: usize = 19;

/// A c_cc slot holding this value is disabled (_POSIX_VDISABLE).
pub const DISABLED: u8 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Default for Termios {
    /// Linux's tty_std_termios: cooked mode, echo, ^C/^\/^Z signals,
    /// CR->NL on input and NL->CRNL on output, 38400 baud 8N1.
    fn default() -> Self {
        // INIT_C_CC in include/linux/tty.h, in c_cc index order.
        let cc = [
            0o003, 0o034, 0o177, 0o025, 0o004, 0, 1, 0, 0o021, 0o023, 0o032, 0, 0o022, 0o017, 0o027, 0o026, 0, 0, 0,
        ];
        Termios {
            iflag: libc::ICRNL | libc::IXON,
            oflag: libc::OPOST | libc::ONLCR,
            cflag: libc::B38400 | libc::CS8 | libc::CREAD | libc::HUPCL,
            lflag: libc::ISIG
                | libc::ICANON
                | libc::ECHO
                | libc::ECHOE
                | libc::ECHOK
                | libc::ECHOCTL
                | libc::ECHOKE
                | libc::IEXTEN,
            line: 0,
            cc,
        }
    }
}

impl Termios {
    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut out = [0u8; TERMIOS_SIZE];
        for (i, word) in [self.iflag, self.oflag, self.cflag, self.lflag].iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        out[16] = self.line;
        out[17..].copy_from_slice(&self.cc);
        out
    }

    pub fn from_bytes(raw: &[u8]) -> Result<Termios> {
        if raw.len() < TERMIOS_SIZE {
            return Err(Errno::EINVAL);
        }
        let word = |i: usize| u32::from_le_bytes([raw[i * 4], raw[i * 4 + 1], raw[i * 4 + 2], raw[i * 4 + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&raw[17..TERMIOS_SIZE]);
        Ok(Termios {
            iflag: word(0),
            oflag: word(1),
            cflag: word(2),
            lflag: word(3),
            line: raw[16],
            cc,
        })
    }

    pub fn iflag(&self, bit: u32) -> bool {
        self.iflag & bit != 0
    }
    pub fn oflag(&self, bit: u32) -> bool {
        self.oflag & bit != 0
    }
    pub fn lflag(&self, bit: u32) -> bool {
        self.lflag & bit != 0
    }
    pub fn canonical(&self) -> bool {
        self.lflag(libc::ICANON)
    }

    /// True when `c` is the (enabled) control character in slot `index`.
    pub fn is_cc(&self, c: u8, index: usize) -> bool {
        self.cc[index] != DISABLED && self.cc[index] == c
    }
}

/// struct winsize: rows, columns, x and y pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Winsize(pub [u16; 4]);

impl Winsize {
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        for (i, v) in self.0.iter().enumerate() {
            out[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
        }
        out
    }
    pub fn from_bytes(raw: [u8; 8]) -> Winsize {
        let mut v = [0u16; 4];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = u16::from_le_bytes([raw[i * 2], raw[i * 2 + 1]]);
        }
        Winsize(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults() {
        let t = Termios::default();
        assert_eq!(Termios::from_bytes(&t.to_bytes()), Ok(t));
        assert_eq!(t.cc[libc::VINTR], 3);
        assert_eq!(t.cc[libc::VMIN], 1);
        assert_eq!(t.cc[libc::VEOF], 4);
        assert_eq!(t.lflag, 0o105073);
        assert_eq!(Termios::from_bytes(&[0; 10]).err(), Some(Errno::EINVAL));
        let w = Winsize([24, 80, 1, 2]);
        assert_eq!(Winsize::from_bytes(w.to_bytes()), w);
    }
}
