//! Client frames parsed from bytes however reads cut them, with RFC 6455's checks.

use std::ops::Range;

use bytes::Bytes;

use super::super::frame::{self, Header, MAX_CLIENT_HEADER, code};
use super::{Event, Lent};
use crate::connection::Chunk;

/// What one parse found: an event, or a whole message unmasked where it lies in the input.
pub(super) enum Found {
    Event(Event),
    /// The message is `input[range]`: its frames' headers were read past and the payloads
    /// of joined messages moved up behind the first. `text`: every message joined is text,
    /// found UTF-8 as it was unmasked.
    InPlace {
        range: Range<usize>,
        text: bool,
    },
}

impl Found {
    /// Hands a message in `input` (or assembled from frames) to `lend`; `input` must be what
    /// [`Parser::parse_in_place`] found it in, as it left it.
    #[inline]
    pub(super) fn lend<R>(self, input: &[u8], lend: &mut impl FnMut(Chunk<'_>) -> R) -> Lent<R> {
        match self {
            Found::InPlace { range, text: true } => {
                let payload = &input[range];
                debug_assert!(std::str::from_utf8(payload).is_ok());
                // SAFETY: `whole_message` joins only whole text messages that `unmask_whole`
                // found UTF-8 (ASCII, or checked), and UTF-8 strings put together are UTF-8.
                let text = unsafe { std::str::from_utf8_unchecked(payload) };
                Lent::Message(lend(Chunk::Text(text)))
            }
            Found::InPlace { range, text: false } => {
                Lent::Message(lend(Chunk::Bytes(&input[range])))
            }
            // Assembled from fragments: rare, and checked again above.
            Found::Event(Event::Message(bytes)) => Lent::Message(lend(Chunk::Bytes(&bytes))),
            Found::Event(event) => Lent::Other(event),
        }
    }
}

/// A frame whose payload is arriving.
struct Frame {
    opcode: u8,
    fin: bool,
    remaining: usize,
    mask: [u8; 4],
    phase: usize,
}

/// A data message being assembled from its frames.
struct Message {
    text: bool,
    data: Vec<u8>,
    /// Bytes of `data` known to be valid UTF-8 (text only): the rest is a code point cut
    /// between frames.
    checked: usize,
}

/// Client frames parsed from bytes however they are cut, into [`Event`]s.
#[repr(C)]
pub(super) struct Parser {
    header_len: u8,
    /// The header of the next frame, while it has arrived only in part.
    header: [u8; MAX_CLIENT_HEADER],
    /// Whole messages that follow one another are one event (see
    /// [`FrameReader::new`](super::FrameReader::new)).
    together: bool,
    /// The largest frame or message accepted.
    limit: usize,
    frame: Option<Frame>,
    message: Option<Message>,
    /// The payload of the control frame arriving.
    pub(super) control: Vec<u8>,
}

impl Parser {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            header: [0; MAX_CLIENT_HEADER],
            header_len: 0,
            together: false,
            frame: None,
            message: None,
            control: Vec::new(),
            limit,
        }
    }

    /// Bytes held between reads: the message being assembled and the payload of the control
    /// frame arriving (allocated), and the header cut short.
    pub(super) fn held(&self) -> usize {
        self.message.as_ref().map_or(0, |m| m.data.capacity())
            + self.control.capacity()
            + usize::from(self.header_len)
    }

    /// A parser that, with `together`, joins the whole messages that follow one another.
    pub(super) fn with_joining(limit: usize, together: bool) -> Self {
        Self {
            together,
            ..Self::new(limit)
        }
    }

    /// Parses `input` up to the first event; returns the bytes used and that event, a
    /// message in bytes of its own (see [`parse_in_place`](Self::parse_in_place)).
    pub(super) fn parse(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        let mut input = input.to_vec();
        let (used, found) = self.parse_in_place(&mut input);
        let event = found.map(|found| {
            found
                .lend(&input, &mut |chunk: Chunk<'_>| chunk.copied())
                .into_event()
        });
        (used, event)
    }

    /// Parses `input` up to the first event; returns the bytes used and what it found. A
    /// whole message in one frame (or a run of them, joined) is unmasked where it lies.
    pub(super) fn parse_in_place(&mut self, input: &mut [u8]) -> (usize, Option<Found>) {
        if self.frame.is_none()
            && self.message.is_none()
            && self.header_len == 0
            && let Some(parsed) = self.whole_message(input)
        {
            return parsed;
        }
        let (used, event) = self.parse_frames(input);
        (used, event.map(Found::Event))
    }

    /// The general path: frames cut by reads, messages cut into frames, control frames.
    fn parse_frames(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        let mut at = 0;
        loop {
            if self.frame.is_none() {
                let header = match self.take_header(&input[at..]) {
                    (used, Some(header)) => {
                        at += used;
                        header
                    }
                    (_, None) => return (input.len(), None),
                };
                if let Err(fault) = self.start_frame(header, input.len() - at) {
                    return (at, Some(fault));
                }
            }
            let frame = self.frame.as_mut().expect("a frame is arriving");
            let take = frame.remaining.min(input.len() - at);
            let chunk = &input[at..at + take];
            at += take;
            frame.remaining -= take;
            if frame::is_control(frame.opcode) {
                frame.phase = frame::unmask_into(&mut self.control, chunk, frame.mask, frame.phase);
            } else {
                let message = self
                    .message
                    .as_mut()
                    .expect("a data frame belongs to a message");
                let end = message.data.len() + take + frame.remaining;
                reserve_within(&mut message.data, take, end);
                frame.phase = frame::unmask_into(&mut message.data, chunk, frame.mask, frame.phase);
                if message.text && !check_utf8(message) {
                    return (at, Some(Event::Fault(code::INVALID, TEXT_NOT_UTF8)));
                }
            }
            if frame.remaining > 0 {
                return (at, None);
            }
            if let Some(event) = self.end_frame() {
                return (at, Some(event));
            }
            if at == input.len() {
                return (at, None);
            }
        }
    }

    /// A whole message in one frame at the start of `input` (what nearly every read brings),
    /// unmasked in place in one step: the general path's state is for frames cut by reads
    /// and messages cut into frames. `None` leaves `input` to that path, which also has every
    /// refusal's wording (an empty message, one over the limit, a control frame, a bad
    /// header). With `together`, the whole messages that follow it join it, their payloads
    /// moved up over the headers between.
    fn whole_message(&self, input: &mut [u8]) -> Option<(usize, Option<Found>)> {
        let (header, start) = Header::parse(input)?;
        let mut end = self.whole_frame_end(&header, start, input.len())?;
        if !unmask_whole(&mut input[start..end], &header) {
            return Some((
                end,
                Some(Found::Event(Event::Fault(code::INVALID, TEXT_NOT_UTF8))),
            ));
        }
        let mut data_end = end;
        let mut text = header.opcode == frame::TEXT;
        while self.together
            && let Some((next, used)) = Header::parse(&input[end..])
            && let Some(next_end) = self.whole_frame_end(&next, used, input.len() - end)
        {
            let payload = end + used..end + next_end;
            if !unmask_whole(&mut input[payload.clone()], &next) {
                // Refused on its own, by the next parse, which reads it as it came: masked.
                frame::unmask(&mut input[payload], next.mask, 0);
                break;
            }
            input.copy_within(payload.clone(), data_end);
            data_end += payload.len();
            end += next_end;
            text &= next.opcode == frame::TEXT;
        }
        let range = start..data_end;
        Some((end, Some(Found::InPlace { range, text })))
    }

    /// Where a frame with `header` (of `used` bytes) ends in `available` bytes, if it is a
    /// whole message that the limit allows and that is all there.
    fn whole_frame_end(&self, header: &Header, used: usize, available: usize) -> Option<usize> {
        let whole = header.fin
            && header.rsv == 0
            && header.masked
            && (header.opcode == frame::TEXT || header.opcode == frame::BINARY)
            && header.length > 0
            && header.length <= self.limit as u64
            && header.length <= (available - used) as u64;
        whole.then(|| used + header.length as usize)
    }

    /// The header at the start of `input`, completed from what came before if it was cut.
    fn take_header(&mut self, input: &[u8]) -> (usize, Option<Header>) {
        if self.header_len == 0
            && let Some((header, used)) = Header::parse(input)
        {
            return (used, Some(header));
        }
        // Cut short: gather it byte by byte (at most 14).
        let mut used = 0;
        let have = self.header_len as usize;
        let want = if have >= 2 {
            Header::length_from([self.header[0], self.header[1]])
        } else {
            2
        };
        let more = (want - have).min(input.len());
        self.header[have..have + more].copy_from_slice(&input[..more]);
        used += more;
        self.header_len += more as u8;
        if (self.header_len as usize) < want {
            return (used, None);
        }
        match Header::parse(&self.header[..self.header_len as usize]) {
            Some((header, _)) => {
                self.header_len = 0;
                (used, Some(header))
            }
            // The first two bytes are in: now the rest of the header is known.
            None => {
                let (more_used, header) = self.take_header(&input[used..]);
                (used + more_used, header)
            }
        }
    }

    /// Checks a frame's header and gets ready for its payload (`available` bytes of which are
    /// in hand); the fault that fails the connection otherwise.
    fn start_frame(&mut self, header: Header, available: usize) -> Result<(), Event> {
        let protocol = |reason| Err(Event::Fault(code::PROTOCOL, reason));
        if header.rsv != 0 {
            return protocol("reserved bits set");
        }
        if !header.masked {
            return protocol("a client frame must be masked");
        }
        let control = frame::is_control(header.opcode);
        match header.opcode {
            frame::CLOSE | frame::PING | frame::PONG => {
                if !header.fin {
                    return protocol("a control frame cannot be fragmented");
                }
                if header.length > frame::MAX_CONTROL_PAYLOAD as u64 {
                    return protocol("a control frame's payload is over 125 bytes");
                }
            }
            frame::CONTINUATION if self.message.is_none() => {
                return protocol("nothing to continue");
            }
            frame::TEXT | frame::BINARY if self.message.is_some() => {
                return protocol("a new message inside a fragmented one");
            }
            frame::CONTINUATION | frame::TEXT | frame::BINARY => {}
            _ => return protocol("a reserved opcode"),
        }
        let so_far = self.message.as_ref().map_or(0, |m| m.data.len());
        if !control && header.length > (self.limit - so_far) as u64 {
            return Err(Event::Fault(code::SIZE, "message too big"));
        }
        let length = header.length as usize;
        if !control {
            let message = self.message.get_or_insert_with(|| Message {
                text: header.opcode == frame::TEXT,
                data: Vec::new(),
                checked: 0,
            });
            // What is in hand, not what the header promises: a client cannot make the server
            // allocate a megabyte by announcing it. Exactly that for a message in one frame.
            let in_hand = length.min(available);
            reserve_within(&mut message.data, in_hand, so_far + length);
        } else {
            // Emptied by the last control frame; at most 125 bytes.
            self.control.reserve_exact(length);
        }
        self.frame = Some(Frame {
            opcode: header.opcode,
            fin: header.fin,
            remaining: length,
            mask: header.mask,
            phase: 0,
        });
        Ok(())
    }

    /// A frame's payload is complete: the event it makes, if any.
    fn end_frame(&mut self) -> Option<Event> {
        let frame = self.frame.take().expect("a frame ended");
        match frame.opcode {
            frame::PING => Some(Event::Ping(std::mem::take(&mut self.control))),
            frame::PONG => {
                self.control.clear();
                None
            }
            frame::CLOSE => Some(close_event(&std::mem::take(&mut self.control))),
            _ if !frame.fin => None,
            _ => {
                let message = self
                    .message
                    .take()
                    .expect("a data frame belongs to a message");
                if message.text && message.checked != message.data.len() {
                    return Some(Event::Fault(code::INVALID, TEXT_NOT_UTF8));
                }
                // Empty messages carry nothing for the layer above.
                (!message.data.is_empty()).then(|| Event::Message(Bytes::from(message.data)))
            }
        }
    }
}

/// Unmasks the payload of a whole frame with `header` in place; false for a text frame that is
/// not UTF-8. The unmasking sees whether the payload is ASCII, as nearly every text is, so
/// only other text takes a check of its own.
fn unmask_whole(payload: &mut [u8], header: &Header) -> bool {
    let ascii = frame::unmask_is_ascii(payload, header.mask);
    ascii || header.opcode != frame::TEXT || std::str::from_utf8(payload).is_ok()
}

/// The fault of a text message that is not UTF-8, whichever path found it.
pub(super) const TEXT_NOT_UTF8: &str = "text is not UTF-8";

/// Makes room in `data` for `more` bytes, doubling as `Vec` does (a frame arriving a byte at
/// a time is not copied over and over) but never past `end`, where the frame arriving ends:
/// a message never takes more than the limit, however the reads cut it.
fn reserve_within(data: &mut Vec<u8>, more: usize, end: usize) {
    let needed = data.len() + more;
    if needed > data.capacity() {
        let target = (data.capacity() * 2).clamp(needed, end.max(needed));
        data.reserve_exact(target - data.len());
    }
}

/// Checks the text of `message` received since the last check; false when it is not UTF-8.
/// A code point cut at the end is left for the next frame to complete.
fn check_utf8(message: &mut Message) -> bool {
    match crate::utf8::from_utf8(&message.data[message.checked..]) {
        Ok(_) => {
            message.checked = message.data.len();
            true
        }
        Err(error) if error.error_len().is_none() => {
            message.checked += error.valid_up_to();
            true
        }
        Err(_) => false,
    }
}

/// What a Close frame's payload says: its code (1000 without one), or the fault
/// of a malformed Close.
fn close_event(payload: &[u8]) -> Event {
    match payload {
        [] => Event::Close(code::NORMAL),
        [_] => Event::Fault(code::PROTOCOL, "a close code needs two bytes"),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !frame::is_valid_close_code(code) {
                Event::Fault(code::PROTOCOL, "an invalid close code")
            } else if std::str::from_utf8(reason).is_err() {
                Event::Fault(code::INVALID, "a close reason that is not UTF-8")
            } else {
                Event::Close(code)
            }
        }
    }
}
