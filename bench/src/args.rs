//! `--key value` and `--flag` arguments, without a parser dependency.

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed command-line arguments: positional words and `--key [value]` pairs.
#[derive(Debug, Default, Clone)]
pub struct Args {
    /// Words that are not flags, in order.
    pub positional: Vec<String>,
    flags: HashMap<String, Option<String>>,
}

impl Args {
    /// The arguments of this process.
    pub fn from_env() -> Self {
        Self::parse(std::env::args().skip(1))
    }

    /// Parses `words`: `--key value`, `--key=value` and `--flag` (a flag followed by another
    /// flag or nothing has no value).
    pub fn parse(words: impl IntoIterator<Item = String>) -> Self {
        let mut args = Args::default();
        let mut words = words.into_iter().peekable();
        while let Some(word) = words.next() {
            let Some(key) = word.strip_prefix("--") else {
                args.positional.push(word);
                continue;
            };
            if let Some((key, value)) = key.split_once('=') {
                args.flags.insert(key.to_string(), Some(value.to_string()));
                continue;
            }
            let value = match words.peek() {
                Some(next) if !next.starts_with("--") => words.next(),
                _ => None,
            };
            args.flags.insert(key.to_string(), value);
        }
        args
    }

    /// Whether `--key` was given.
    pub fn has(&self, key: &str) -> bool {
        self.flags.contains_key(key)
    }

    /// The value of `--key`, if given with one.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.flags.get(key).and_then(|v| v.as_deref())
    }

    /// The value of `--key` parsed, or `default`; exits with a message when it does not parse.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> T {
        match self.str(key) {
            None => default,
            Some(raw) => raw.parse().unwrap_or_else(|_| {
                eprintln!("--{key}: cannot parse {raw:?}");
                std::process::exit(2)
            }),
        }
    }

    /// The value of `--key` parsed; exits with a message when it is missing.
    pub fn require<T: FromStr>(&self, key: &str) -> T {
        let Some(raw) = self.str(key) else {
            eprintln!("--{key} is required");
            std::process::exit(2)
        };
        raw.parse().unwrap_or_else(|_| {
            eprintln!("--{key}: cannot parse {raw:?}");
            std::process::exit(2)
        })
    }

    /// A comma-separated list of numbers, or `default`.
    pub fn list(&self, key: &str, default: &[usize]) -> Vec<usize> {
        match self.str(key) {
            None => default.to_vec(),
            Some(raw) => raw
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse().unwrap_or_else(|_| {
                        eprintln!("--{key}: cannot parse {s:?}");
                        std::process::exit(2)
                    })
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_values_and_words() {
        let a = Args::parse(
            ["echo", "--conns", "100", "--quick", "--size=32", "--x"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(a.positional, ["echo"]);
        assert_eq!(a.get("conns", 0usize), 100);
        assert_eq!(a.get("size", 0usize), 32);
        assert!(a.has("quick") && a.has("x") && !a.has("y"));
        assert_eq!(a.str("quick"), None);
    }
}
