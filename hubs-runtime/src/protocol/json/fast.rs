//! The JSON envelope of the messages clients usually send, read in one pass without serde's
//! generic machinery (which cost about 3,000 instructions for a 32-byte echo).
//!
//! It reads the protocol's own keys in any order with plain strings (no escapes), whole
//! numbers, and checked JSON values for arguments, items, results and unknown keys. Anything
//! else returns `None` (escaped ids or targets, `null` where a string goes, `headers`,
//! duplicate keys, malformed input) and serde reads the message instead, so such messages and
//! every error read exactly as before. The tests check that both readers agree.

use std::borrow::Cow;

use super::Envelope;
use super::scan::plain_len;
use crate::protocol::ArgumentValues;
use crate::rare::rare;

/// Deeper nesting goes to serde.
const MAX_DEPTH: usize = 64;

/// Reads the envelope of `json` into `envelope` (all of it `None` before), if it is one this
/// reader handles; `None` leaves part of it read. Written in place, so the envelope and the
/// argument list are not moved on their way out.
pub(super) fn read<'a>(json: &'a str, envelope: &mut Envelope<'a>) -> Option<()> {
    let mut scan = Scanner { json, at: 0 };
    // Keys seen, one bit each: serde refuses a key given twice.
    let mut seen = 0u16;
    scan.eat(b'{')?;
    scan.items(b'}', |scan| {
        let key = scan.key()?;
        let bit = match key {
            Key::Headers | Key::Other => 0,
            key => 1 << key as u16,
        };
        if seen & bit != 0 {
            rare();
            return None;
        }
        seen |= bit;
        scan.eat(b':')?;
        match key {
            Key::Type => envelope.kind = Some(scan.whole_number()?),
            Key::InvocationId => {
                envelope.invocation_id = Some(Cow::Borrowed(scan.plain_str()?));
            }
            Key::Target => envelope.target = Some(Cow::Borrowed(scan.plain_str()?)),
            Key::Arguments => scan.values(envelope.arguments.insert(ArgumentValues::new()))?,
            Key::StreamIds => envelope.stream_ids = Some(scan.plain_strs()?),
            Key::Error => {
                rare();
                envelope.error = Some(Cow::Borrowed(scan.plain_str()?));
            }
            Key::Item => envelope.item = Some(scan.value(0)?.as_bytes()),
            Key::SequenceId => {
                rare();
                envelope.sequence_id = Some(scan.whole_number()?);
            }
            Key::Result => envelope.result = Some(scan.value(0)?.as_bytes()),
            Key::Headers => {
                rare();
                return None;
            }
            Key::Other => {
                rare();
                scan.value(0)?;
            }
        }
        Some(())
    })?;
    scan.end().then_some(())
}

/// The keys of the envelope, and any other.
#[derive(Clone, Copy)]
enum Key {
    Type,
    InvocationId,
    Target,
    Arguments,
    StreamIds,
    Error,
    Item,
    SequenceId,
    Result,
    Headers,
    Other,
}

/// A position in the message.
struct Scanner<'a> {
    json: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.json.as_bytes()
    }

    /// Inline only one comparison of the next byte: clients seldom put whitespace between
    /// tokens, this runs before every one of them, and every token begins above a space.
    #[inline(always)]
    fn skip_whitespace(&mut self) {
        if let Some(&byte) = self.bytes().get(self.at)
            && byte <= b' '
        {
            self.skip_whitespace_run();
        }
    }

    #[cold]
    #[inline(never)]
    fn skip_whitespace_run(&mut self) {
        while self
            .bytes()
            .get(self.at)
            .copied()
            .is_some_and(is_whitespace)
        {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.at).copied()
    }

    /// The next byte after whitespace, consumed.
    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// Only whitespace is left.
    fn end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string without escapes or control characters, borrowed.
    fn plain_str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let end = start + plain_len(&self.bytes()[start..]);
        self.at = end;
        self.eat_raw(b'"')?;
        Some(&self.json[start..end])
    }

    /// The items of an array or object whose opening bracket is read, up to `close`, each
    /// read by `item`.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.next()? {
                b',' => {}
                byte if byte == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// An array of plain strings.
    fn plain_strs(&mut self) -> Option<Vec<Cow<'a, str>>> {
        let mut strings = Vec::new();
        self.eat(b'[')?;
        self.items(b']', |scan| {
            strings.push(Cow::Borrowed(scan.plain_str()?));
            Some(())
        })?;
        Some(strings)
    }

    /// An array of JSON values, each as its text, pushed to `values`.
    fn values(&mut self, values: &mut ArgumentValues<'a>) -> Option<()> {
        self.eat(b'[')?;
        self.items(b']', |scan| {
            scan.skip_whitespace();
            let start = scan.at;
            if scan.bytes().get(start) == Some(&b'"') {
                // Said to the argument's decoder, which then need not scan it again.
                let plain = scan.string()?;
                let value = &scan.json[start..scan.at];
                match plain {
                    true => values.push_plain_string(value),
                    false => values.push(value.as_bytes()),
                }
            } else {
                values.push(scan.value(1)?.as_bytes());
            }
            Some(())
        })
    }

    /// A key: one of the envelope's, compared in place as it stands (with its closing quote),
    /// or any other plain string.
    fn key(&mut self) -> Option<Key> {
        self.eat(b'"')?;
        let rest = &self.bytes()[self.at..];
        let found = match rest.first() {
            Some(b't') => {
                known(rest, b"type\"", Key::Type).or_else(|| known(rest, b"target\"", Key::Target))
            }
            Some(b'i') => known(rest, b"invocationId\"", Key::InvocationId)
                .or_else(|| known(rest, b"item\"", Key::Item)),
            Some(b'a') => known(rest, b"arguments\"", Key::Arguments),
            Some(b'r') => known(rest, b"result\"", Key::Result),
            // Keys an invocation, a stream item and a result do not carry.
            Some(b's') => {
                rare();
                known(rest, b"streamIds\"", Key::StreamIds)
                    .or_else(|| known(rest, b"sequenceId\"", Key::SequenceId))
            }
            Some(b'e') => {
                rare();
                known(rest, b"error\"", Key::Error)
            }
            Some(b'h') => {
                rare();
                known(rest, b"headers\"", Key::Headers)
            }
            _ => {
                rare();
                None
            }
        };
        match found {
            Some((key, len)) => {
                self.at += len;
                Some(key)
            }
            None => {
                self.at -= 1;
                self.plain_str()?;
                Some(Key::Other)
            }
        }
    }

    /// A whole number that fits a `u64` for sure (up to 19 digits), read as it is checked.
    fn whole_number(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let bytes = self.bytes();
        let start = self.at;
        let mut at = start;
        let mut value = 0u64;
        while let Some(&byte) = bytes.get(at)
            && byte.is_ascii_digit()
        {
            if at - start == 19 {
                return None;
            }
            value = value * 10 + u64::from(byte - b'0');
            at += 1;
        }
        let digits = at - start;
        // No number, a leading zero (not JSON), or a fraction or exponent: serde's to read.
        if digits == 0
            || (digits > 1 && bytes[start] == b'0')
            || matches!(bytes.get(at), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.at = at;
        Some(value)
    }

    /// Any JSON value, checked, as its exact text.
    fn value(&mut self, depth: usize) -> Option<&'a str> {
        self.skip_whitespace();
        let start = self.at;
        match *self.bytes().get(self.at)? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' if depth >= MAX_DEPTH => return None,
            b'{' => {
                self.at += 1;
                self.items(b'}', |scan| {
                    scan.skip_whitespace();
                    scan.string()?;
                    scan.eat(b':')?;
                    scan.value(depth + 1).map(drop)
                })?;
            }
            b'[' => {
                self.at += 1;
                self.items(b']', |scan| scan.value(depth + 1).map(drop))?;
            }
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => self.literal("null")?,
            b'-' | b'0'..=b'9' => {
                self.number()?;
            }
            _ => return None,
        }
        Some(&self.json[start..self.at])
    }

    /// A string with valid escapes and no control characters; whether nothing was escaped.
    fn string(&mut self) -> Option<bool> {
        self.eat_raw(b'"')?;
        let mut plain = true;
        loop {
            self.at += plain_len(&self.bytes()[self.at..]);
            match *self.bytes().get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(plain);
                }
                b'\\' => {
                    plain = false;
                    self.at += 1;
                    match *self.bytes().get(self.at)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            let hex = self.bytes().get(self.at + 1..self.at + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.at += 5;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// A number as JSON writes it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        self.skip_whitespace();
        let start = self.at;
        if self.bytes().get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match *self.bytes().get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.bytes().get(self.at) == Some(&b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes().get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes().get(self.at) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(&self.json[start..self.at])
    }

    fn digits(&mut self) {
        while self.bytes().get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.bytes()[self.at..]
            .starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    /// `byte` right here, without whitespace before it.
    fn eat_raw(&mut self, byte: u8) -> Option<()> {
        (self.bytes().get(self.at) == Some(&byte)).then(|| self.at += 1)
    }
}

/// `key` and the bytes `literal` takes (its name and closing quote) if `bytes` begins with it;
/// of a length known here, so compared in words.
fn known<const N: usize>(bytes: &[u8], literal: &[u8; N], key: Key) -> Option<(Key, usize)> {
    (bytes.first_chunk::<N>() == Some(literal)).then_some((key, N))
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}
