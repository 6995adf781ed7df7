//! An invocation's argument values, kept inline when there are few.

use std::ops::Deref;

/// Argument values held without an allocation of their own.
const INLINE: usize = 4;

/// The encoded values of an invocation's arguments, one slice each. Most calls have a few, so
/// they are kept inline; more spill into a `Vec`. Unlike `SmallVec`, covariant in `'a`, as
/// `Vec<&'a [u8]>` is, so a borrow of the arguments can be shortened as before.
///
/// Inline values also say which are JSON strings with nothing escaped, as the JSON reader
/// found them, so that decoding them does not scan them again.
#[derive(Clone)]
pub(crate) enum ArgumentValues<'a> {
    Inline {
        values: [&'a [u8]; INLINE],
        len: u8,
        /// One bit per value: a JSON string with nothing escaped.
        plain_strings: u8,
    },
    Spilled(Vec<&'a [u8]>),
}

impl<'a> ArgumentValues<'a> {
    pub(crate) const fn new() -> Self {
        Self::Inline {
            values: [&[]; INLINE],
            len: 0,
            plain_strings: 0,
        }
    }

    /// Room for `capacity` values, inline when they fit.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        match capacity {
            0..=INLINE => Self::new(),
            _ => Self::Spilled(Vec::with_capacity(capacity)),
        }
    }

    /// Adds a JSON string value whose text has no escape (nor control character), quotes
    /// included.
    #[inline]
    pub(crate) fn push_plain_string(&mut self, value: &'a [u8]) {
        if let Self::Inline {
            len, plain_strings, ..
        } = self
            && usize::from(*len) < INLINE
        {
            *plain_strings |= 1 << *len;
        }
        self.push(value);
    }

    /// Whether value `index` is known to be a JSON string with nothing escaped.
    pub(crate) fn is_plain_string(&self, index: usize) -> bool {
        match self {
            Self::Inline { plain_strings, .. } => index < INLINE && plain_strings >> index & 1 == 1,
            Self::Spilled(_) => false,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: &'a [u8]) {
        match self {
            Self::Inline { values, len, .. } if usize::from(*len) < INLINE => {
                values[usize::from(*len)] = value;
                *len += 1;
            }
            Self::Inline { values, .. } => {
                let mut spilled = Vec::with_capacity(2 * INLINE);
                spilled.extend_from_slice(values);
                spilled.push(value);
                *self = Self::Spilled(spilled);
            }
            Self::Spilled(values) => values.push(value),
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
        match self {
            Self::Inline { values, len, .. } => &values[..usize::from(*len)],
            Self::Spilled(values) => values,
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
                matches!(pushed, ArgumentValues::Inline { .. }),
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
        values.push_plain_string(b"\"a\"");
        values.push(b"1");
        values.push_plain_string(b"\"b\"");
        let marked: Vec<bool> = (0..4).map(|i| values.is_plain_string(i)).collect();
        assert_eq!(marked, [true, false, true, false]);
        values.push(b"2");
        values.push_plain_string(b"\"c\"");
        assert_eq!(values.len(), 5);
        assert!((0..8).all(|i| !values.is_plain_string(i)), "only a hint");
    }
}
