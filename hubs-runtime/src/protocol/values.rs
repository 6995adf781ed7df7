//! An invocation's argument values, kept inline when there are few.

use std::ops::Deref;

/// Argument values held without an allocation of their own.
const INLINE: usize = 4;

/// The encoded values of an invocation's arguments, one slice each. Most calls have a few, so
/// they are kept inline; more spill into a `Vec`. Unlike `SmallVec`, covariant in `'a`, as
/// `Vec<&'a [u8]>` is, so a borrow of the arguments can be shortened as before.
///
/// Inline values also say which are JSON strings with nothing escaped, as the JSON reader
/// found them in text it had checked to be UTF-8, so that decoding them neither scans nor
/// checks them again.
#[derive(Clone)]
pub(crate) struct ArgumentValues<'a>(Values<'a>);

/// The values, private to this file: only [`ArgumentValues::push_plain_string`] marks one as
/// text, which [`ArgumentValues::plain_string`] relies on.
#[derive(Clone)]
enum Values<'a> {
    Inline {
        values: [&'a [u8]; INLINE],
        len: u8,
        /// One bit per value: a JSON string with nothing escaped, pushed as text.
        plain_strings: u8,
    },
    Spilled(Vec<&'a [u8]>),
}

impl<'a> ArgumentValues<'a> {
    pub(crate) const fn new() -> Self {
        Self(Values::Inline {
            values: [&[]; INLINE],
            len: 0,
            plain_strings: 0,
        })
    }

    /// Room for `capacity` values, inline when they fit.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        match capacity {
            0..=INLINE => Self::new(),
            _ => Self(Values::Spilled(Vec::with_capacity(capacity))),
        }
    }

    /// Adds a JSON string value whose text has no escape (nor control character), quotes
    /// included.
    #[inline]
    pub(crate) fn push_plain_string(&mut self, value: &'a str) {
        if let Values::Inline {
            len, plain_strings, ..
        } = &mut self.0
            && usize::from(*len) < INLINE
        {
            *plain_strings |= 1 << *len;
        }
        self.push(value.as_bytes());
    }

    /// Value `index` as text, if it is known to be a JSON string with nothing escaped (quotes
    /// included).
    #[inline]
    pub(crate) fn plain_string(&self, index: usize) -> Option<&'a str> {
        match &self.0 {
            Values::Inline {
                values,
                plain_strings,
                ..
            } if index < INLINE && plain_strings >> index & 1 == 1 => {
                // SAFETY: only `push_plain_string` sets the bit, for a value it was given as a
                // `str`; nothing outside this file can reach the fields.
                Some(unsafe { std::str::from_utf8_unchecked(values[index]) })
            }
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: &'a [u8]) {
        match &mut self.0 {
            Values::Inline { values, len, .. } if usize::from(*len) < INLINE => {
                values[usize::from(*len)] = value;
                *len += 1;
            }
            Values::Inline { values, .. } => {
                let mut spilled = Vec::with_capacity(2 * INLINE);
                spilled.extend_from_slice(values);
                spilled.push(value);
                self.0 = Values::Spilled(spilled);
            }
            Values::Spilled(values) => values.push(value),
        }
    }
}

impl Default for ArgumentValues<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Deref for ArgumentValues<'a> {
    type Target = [&'a [u8]];

    #[inline]
    fn deref(&self) -> &Self::Target {
        match &self.0 {
            Values::Inline { values, len, .. } => &values[..usize::from(*len)],
            Values::Spilled(values) => values,
        }
    }
}

impl<'a> FromIterator<&'a [u8]> for ArgumentValues<'a> {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Self {
        let mut values = Self::new();
        iter.into_iter().for_each(|value| values.push(value));
        values
    }
}

impl PartialEq for ArgumentValues<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for ArgumentValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_in_order_inline_and_past_the_inline_room() {
        let all: Vec<Vec<u8>> = (0..11u8).map(|i| vec![i; usize::from(i)]).collect();
        for count in 0..all.len() {
            let expected: Vec<&[u8]> = all[..count].iter().map(Vec::as_slice).collect();
            let pushed: ArgumentValues<'_> = expected.iter().copied().collect();
            assert_eq!(&*pushed, &expected[..], "{count} values");
            assert_eq!(
                matches!(pushed.0, Values::Inline { .. }),
                count <= INLINE,
                "{count} values"
            );
            let mut reserved = ArgumentValues::with_capacity(count);
            expected.iter().for_each(|value| reserved.push(value));
            assert_eq!(reserved, pushed);
        }
    }

    #[test]
    fn plain_strings_are_marked_while_inline_and_forgotten_once_spilled() {
        let mut values = ArgumentValues::new();
        values.push_plain_string("\"a\"");
        values.push(b"1");
        values.push_plain_string("\"b\"");
        let marked: Vec<_> = (0..4).map(|i| values.plain_string(i)).collect();
        assert_eq!(marked, [Some("\"a\""), None, Some("\"b\""), None]);
        values.push(b"2");
        values.push_plain_string("\"c\"");
        assert_eq!(values.len(), 5);
        assert!(
            (0..8).all(|i| values.plain_string(i).is_none()),
            "only a hint"
        );
    }
}
