//! The line discipline (termios(3), Linux's n_tty): what happens to bytes
//! typed into a terminal (input processing, line editing, echo, signal
//! characters) and to bytes a program writes to it (output processing).
//!
//! This is pure state: the terminal calls it under its lock and carries
//! out the effects (echo to the master, signals to the foreground group).

use super::termios::Termios;
use std::collections::VecDeque;

/// Longest canonical line (N_TTY_BUF_SIZE - 1); further characters are
/// dropped until the line ends, as Linux does.
pub const MAX_LINE: usize = 4095;

/// What one input byte asks of the terminal besides queuing it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Echo, before output processing.
    pub echo: Vec<u8>,
    /// Signals for the foreground process group, in order.
    pub signals: Vec<i32>,
    /// ISIG without NOFLSH also discards the output not yet read.
    pub flush_output: bool,
}

#[derive(Default)]
pub struct LineDiscipline {
    pub termios: Termios,
    /// Bytes the reader may take (complete lines in canonical mode).
    queue: VecDeque<u8>,
    /// Canonical mode: lengths of the complete lines at the front of
    /// `queue`; a 0 is an end-of-file (VEOF on an empty line).
    line_lens: VecDeque<usize>,
    /// Canonical mode: the line being edited.
    line: Vec<u8>,
}

impl LineDiscipline {
    /// Bytes held (queued and being edited), for flow control.
    pub fn held(&self) -> usize {
        self.queue.len() + self.line.len()
    }

    /// True when a read would return something now (a line, an EOF, or in
    /// non-canonical mode any byte).
    pub fn readable(&self) -> bool {
        if self.termios.canonical() {
            !self.line_lens.is_empty()
        } else {
            !self.queue.is_empty()
        }
    }

    /// FIONREAD: complete lines only in canonical mode.
    pub fn available(&self) -> usize {
        if self.termios.canonical() {
            self.line_lens.iter().sum()
        } else {
            self.queue.len()
        }
    }

    /// Takes what a read returns: at most one line in canonical mode.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = if self.termios.canonical() {
            let Some(len) = self.line_lens.front_mut() else {
                return 0;
            };
            let n = out.len().min(*len);
            *len -= n;
            if *len == 0 {
                self.line_lens.pop_front();
            }
            n
        } else {
            out.len().min(self.queue.len())
        };
        for (dst, src) in out.iter_mut().zip(self.queue.drain(..n)) {
            *dst = src;
        }
        n
    }

    /// Discards all input (TCIFLUSH, ISIG).
    pub fn flush_input(&mut self) {
        self.queue.clear();
        self.line_lens.clear();
        self.line.clear();
    }

    /// TCSETS: switching out of canonical mode makes the partial line
    /// readable; switching into it makes what is queued one line.
    pub fn set_termios(&mut self, new: Termios) {
        let was = self.termios.canonical();
        self.termios = new;
        match (was, new.canonical()) {
            (true, false) => {
                self.queue.extend(self.line.drain(..));
                self.line_lens.clear();
            }
            (false, true) if !self.queue.is_empty() => {
                self.line_lens.clear();
                self.line_lens.push_back(self.queue.len());
            }
            _ => {}
        }
    }

    /// Input processing of one byte from the master (termios(3) c_iflag,
    /// then c_lflag).
    pub fn receive(&mut self, byte: u8, fx: &mut Effects) {
        let t = self.termios;
        let mut c = if t.iflag(libc::ISTRIP) { byte & 0x7f } else { byte };
        if c == b'\r' {
            if t.iflag(libc::IGNCR) {
                return;
            }
            if t.iflag(libc::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.iflag(libc::INLCR) {
            c = b'\r';
        }
        if t.lflag(libc::ISIG) && self.signal_char(c, fx) {
            return;
        }
        if t.canonical() {
            self.receive_canonical(c, fx);
        } else {
            self.queue.push_back(c);
            if t.lflag(libc::ECHO) {
                echo_char(&t, c, fx);
            }
        }
    }

    /// VINTR, VQUIT, VSUSP: a signal instead of a character.
    fn signal_char(&mut self, c: u8, fx: &mut Effects) -> bool {
        let t = self.termios;
        let sig = if t.is_cc(c, libc::VINTR) {
            libc::SIGINT
        } else if t.is_cc(c, libc::VQUIT) {
            libc::SIGQUIT
        } else if t.is_cc(c, libc::VSUSP) {
            libc::SIGTSTP
        } else {
            return false;
        };
        fx.signals.push(sig);
        if !t.lflag(libc::NOFLSH) {
            self.flush_input();
            fx.flush_output = true;
        }
        if t.lflag(libc::ECHO) {
            echo_char(&t, c, fx);
        }
        true
    }

    fn receive_canonical(&mut self, c: u8, fx: &mut Effects) {
        let t = self.termios;
        let echo = t.lflag(libc::ECHO);
        if t.is_cc(c, libc::VERASE) || (t.lflag(libc::IEXTEN) && t.is_cc(c, libc::VWERASE)) {
            let word = !t.is_cc(c, libc::VERASE);
            self.erase(word, fx);
        } else if t.is_cc(c, libc::VKILL) {
            self.kill(c, fx);
        } else if t.is_cc(c, libc::VEOF) {
            // The line ends without the EOF character (nothing echoed).
            self.end_line();
        } else if c == b'\n' {
            self.line.push(c);
            self.end_line();
            if echo || t.lflag(libc::ECHONL) {
                fx.echo.push(b'\n');
            }
        } else if t.is_cc(c, libc::VEOL) || t.is_cc(c, libc::VEOL2) {
            self.line.push(c);
            self.end_line();
            if echo {
                echo_char(&t, c, fx);
            }
        } else if self.line.len() < MAX_LINE {
            self.line.push(c);
            if echo {
                echo_char(&t, c, fx);
            }
        }
    }

    fn end_line(&mut self) {
        self.line_lens.push_back(self.line.len());
        self.queue.extend(self.line.drain(..));
    }

    /// VERASE (one character) or VWERASE (back to the previous word).
    fn erase(&mut self, word: bool, fx: &mut Effects) {
        let t = self.termios;
        let mut seen_word = false;
        while let Some(&last) = self.line.last() {
            if word {
                let blank = last == b' ' || last == b'\t';
                if blank && seen_word {
                    break;
                }
                seen_word |= !blank;
            }
            self.line.pop();
            if t.lflag(libc::ECHO) {
                if t.lflag(libc::ECHOE) {
                    let width = if shows_as_caret(&t, last) { 2 } else { 1 };
                    for _ in 0..width {
                        fx.echo.extend_from_slice(b"\x08 \x08");
                    }
                } else {
                    echo_char(&t, t.cc[libc::VERASE], fx);
                }
            }
            if !word {
                break;
            }
        }
    }

    /// VKILL: erase the whole line; ECHOKE erases it visually, otherwise
    /// the kill character is echoed, followed by a newline with ECHOK.
    fn kill(&mut self, c: u8, fx: &mut Effects) {
        let t = self.termios;
        if self.line.is_empty() {
            return;
        }
        if !t.lflag(libc::ECHO) {
            self.line.clear();
            return;
        }
        if t.lflag(libc::ECHOKE) && t.lflag(libc::ECHOE) {
            while !self.line.is_empty() {
                self.erase(false, fx);
            }
            return;
        }
        self.line.clear();
        echo_char(&t, c, fx);
        if t.lflag(libc::ECHOK) {
            fx.echo.push(b'\n');
        }
    }
}

/// ECHOCTL shows control characters other than TAB and NL as ^X.
fn shows_as_caret(t: &Termios, c: u8) -> bool {
    t.lflag(libc::ECHOCTL) && (c < 0x20 || c == 0x7f) && c != b'\t' && c != b'\n'
}

fn echo_char(t: &Termios, c: u8, fx: &mut Effects) {
    if shows_as_caret(t, c) {
        fx.echo.extend_from_slice(&[b'^', c ^ 0x40]);
    } else {
        fx.echo.push(c);
    }
}

/// Output processing (c_oflag): OPOST with ONLCR (NL -> CR NL), OCRNL
/// (CR -> NL) and ONLRET/ONOCR left out.
pub fn process_output(t: &Termios, data: &[u8], out: &mut VecDeque<u8>) {
    if !t.oflag(libc::OPOST) {
        out.extend(data);
        return;
    }
    for &c in data {
        match c {
            b'\n' if t.oflag(libc::ONLCR) => out.extend(b"\r\n"),
            b'\r' if t.oflag(libc::OCRNL) => out.push_back(b'\n'),
            _ => out.push_back(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ld: &mut LineDiscipline, input: &[u8]) -> Effects {
        let mut fx = Effects::default();
        for &c in input {
            ld.receive(c, &mut fx);
        }
        fx
    }

    fn read_all(ld: &mut LineDiscipline) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = ld.read(&mut buf);
        buf[..n].to_vec()
    }

    #[test]
    fn canonical_lines_editing_and_echo() {
        let mut ld = LineDiscipline::default();
        let fx = feed(&mut ld, b"abX\x7fc\r");
        assert_eq!(fx.echo, b"abX\x08 \x08c\n");
        assert_eq!(read_all(&mut ld), b"abc\n");
        feed(&mut ld, b"junk\x15ok\n");
        assert_eq!(read_all(&mut ld), b"ok\n");
        feed(&mut ld, b"one\ntwo\n");
        assert_eq!(ld.available(), 8);
        assert_eq!(read_all(&mut ld), b"one\n");
        assert_eq!(read_all(&mut ld), b"two\n");
        assert!(!ld.readable());
    }

    #[test]
    fn eof_and_signals() {
        let mut ld = LineDiscipline::default();
        feed(&mut ld, b"abc\x04\x04");
        assert_eq!(read_all(&mut ld), b"abc");
        assert!(ld.readable());
        assert_eq!(read_all(&mut ld), b"");
        assert!(!ld.readable());
        let fx = feed(&mut ld, b"lost\x03");
        assert_eq!(fx.signals, vec![libc::SIGINT]);
        assert!(fx.flush_output);
        assert!(fx.echo.ends_with(b"^C"));
        assert_eq!(ld.held(), 0);
    }

    #[test]
    fn raw_mode_and_mode_switches() {
        let mut ld = LineDiscipline::default();
        feed(&mut ld, b"part");
        let mut raw = ld.termios;
        raw.lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
        ld.set_termios(raw);
        assert_eq!(feed(&mut ld, b"\x03").echo, b"");
        assert_eq!(read_all(&mut ld), b"part\x03");
        let mut out = VecDeque::new();
        process_output(&ld.termios, b"a\nb", &mut out);
        assert_eq!(out.iter().copied().collect::<Vec<u8>>(), b"a\r\nb");
    }
}
