//! netlink(7) message framing: struct nlmsghdr, route attributes
//! (struct rtattr / nlattr: length, type, payload padded to 4 bytes),
//! and the NLMSG_ERROR / NLMSG_DONE messages every protocol sends.

/// sizeof(struct nlmsghdr).
pub const NLMSG_HDRLEN: usize = 16;
/// Attribute header length (struct rtattr).
const ATTR_HDRLEN: usize = 4;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
/// Types below this are netlink's own control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// An ack carrying only the request's header (netlink_ack).
pub const NLM_F_CAPPED: u16 = 0x100;
/// A dump the kernel filtered by the request's header (strict checking).
pub const NLM_F_DUMP_FILTERED: u16 = 0x20;

/// NLMSG_ALIGN / RTA_ALIGN.
pub fn align4(n: usize) -> usize {
    n.next_multiple_of(4)
}

/// A struct nlmsghdr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        let b: &[u8; NLMSG_HDRLEN] = b.get(..NLMSG_HDRLEN)?.try_into().ok()?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(Header {
            len: u32_at(0),
            ty: u16::from_le_bytes([b[4], b[5]]),
            flags: u16::from_le_bytes([b[6], b[7]]),
            seq: u32_at(8),
            pid: u32_at(12),
        })
    }

    fn bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let mut b = [0u8; NLMSG_HDRLEN];
        b[..4].copy_from_slice(&self.len.to_le_bytes());
        b[4..6].copy_from_slice(&self.ty.to_le_bytes());
        b[6..8].copy_from_slice(&self.flags.to_le_bytes());
        b[8..12].copy_from_slice(&self.seq.to_le_bytes());
        b[12..].copy_from_slice(&self.pid.to_le_bytes());
        b
    }
}

/// One message of a request: its header, its payload, and the whole
/// message as sent (an error reply quotes it).
pub struct Request<'a> {
    pub hdr: Header,
    pub body: &'a [u8],
    pub raw: &'a [u8],
}

/// The messages of one send, as netlink_rcv_skb walks them: it stops at
/// the first header that is too short or longer than what is left.
pub fn split(mut data: &[u8]) -> Vec<Request<'_>> {
    let mut out = Vec::new();
    while let Some(hdr) = Header::parse(data) {
        let len = hdr.len as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        out.push(Request {
            hdr,
            body: &data[NLMSG_HDRLEN..len],
            raw: &data[..len],
        });
        data = &data[align4(len).min(data.len())..];
    }
    out
}

/// The attributes of a payload from `offset` on: (type without the
/// nested/byte-order bits, payload). Stops at a malformed one.
pub fn attrs(body: &[u8], offset: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = body.get(offset..).unwrap_or_default();
    while rest.len() >= ATTR_HDRLEN {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let ty = u16::from_le_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < ATTR_HDRLEN || len > rest.len() {
            break;
        }
        out.push((ty, &rest[ATTR_HDRLEN..len]));
        rest = &rest[align4(len).min(rest.len())..];
    }
    out
}

/// Builds one message: a header, a fixed payload, then attributes.
pub struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    pub fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> Builder {
        let hdr = Header {
            len: 0,
            ty,
            flags,
            seq,
            pid,
        };
        Builder {
            buf: hdr.bytes().to_vec(),
        }
    }

    /// Appends a fixed payload (ifinfomsg, ifaddrmsg, ...), padded.
    pub fn payload(mut self, bytes: &[u8]) -> Builder {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    pub fn attr(mut self, ty: u16, data: &[u8]) -> Builder {
        let len = ATTR_HDRLEN + data.len();
        self.buf.extend_from_slice(&(len as u16).to_le_bytes());
        self.buf.extend_from_slice(&ty.to_le_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    pub fn attr_u32(self, ty: u16, v: u32) -> Builder {
        self.attr(ty, &v.to_le_bytes())
    }

    pub fn attr_u8(self, ty: u16, v: u8) -> Builder {
        self.attr(ty, &[v])
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(self, ty: u16, s: &str) -> Builder {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(ty, &b)
    }

    /// The message with its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_le_bytes());
        self.buf
    }
}

/// The NLMSG_ERROR reply to `req` (netlink_ack): error 0 is an ack and
/// quotes only the request's header (NLM_F_CAPPED); an error quotes the
/// whole request unless the socket set NETLINK_CAP_ACK. `errno` is
/// positive; the message carries it negated.
pub fn error_reply(req: &Request, errno: i32, portid: u32, cap_ack: bool) -> Vec<u8> {
    let (flags, quoted) = if errno == 0 || cap_ack {
        (NLM_F_CAPPED, &req.raw[..NLMSG_HDRLEN])
    } else {
        (0, req.raw)
    };
    let mut payload = (-errno).to_le_bytes().to_vec();
    payload.extend_from_slice(quoted);
    Builder::new(NLMSG_ERROR, flags, req.hdr.seq, portid)
        .payload(&payload)
        .finish()
}

/// The NLMSG_DONE that ends a dump (its payload is the dump's status, 0).
pub fn done(seq: u32, portid: u32, flags: u16) -> Vec<u8> {
    Builder::new(NLMSG_DONE, NLM_F_MULTI | flags, seq, portid)
        .payload(&0i32.to_le_bytes())
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_split_round_trip() {
        let one = Builder::new(18, NLM_F_REQUEST | NLM_F_DUMP, 7, 0)
            .payload(&[0u8; 16])
            .attr_str(3, "lo")
            .finish();
        assert_eq!(one.len(), 16 + 16 + 8);
        let two = done(7, 5, 0);
        let data = [one.clone(), two].concat();
        let reqs = split(&data);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].hdr.ty, 18);
        assert_eq!(reqs[0].raw, &one[..]);
        assert_eq!(attrs(reqs[0].body, 16), vec![(3u16, &b"lo\0"[..])]);
        assert_eq!(reqs[1].hdr.ty, NLMSG_DONE);
    }

    #[test]
    fn split_stops_at_bad_length() {
        let mut msg = Builder::new(18, NLM_F_REQUEST, 1, 0).payload(&[0; 4]).finish();
        msg[0] = 200;
        assert!(split(&msg).is_empty());
        assert!(split(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn ack_quotes_header_and_error_quotes_all() {
        let msg = Builder::new(20, NLM_F_REQUEST | NLM_F_ACK, 9, 0)
            .payload(&[0; 8])
            .finish();
        let req = &split(&msg)[0];
        let ack = error_reply(req, 0, 42, false);
        assert_eq!(ack.len(), 16 + 4 + 16);
        let err = error_reply(req, libc::EPERM, 42, false);
        assert_eq!(err.len(), 16 + 4 + msg.len());
        assert_eq!(i32::from_le_bytes(err[16..20].try_into().unwrap()), -libc::EPERM);
    }
}
