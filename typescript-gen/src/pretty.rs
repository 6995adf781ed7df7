//! Object types one field a line: `ts-rs` writes a declaration on one line, with field docs
//! between the fields.

use crate::names::{comment_text, tsdoc};

/// `type X = { a: string, /** docs */ b: number, };` as
///
/// ```text
/// type X = {
///   a: string,
///   /** docs */
///   b: number,
/// };
/// ```
///
/// Anything else (unions, intersections, aliases) is returned as it is, trimmed.
pub(crate) fn declaration(declaration: &str) -> String {
    let declaration = declaration.trim();
    let Some((head, body)) = object_body(declaration) else {
        return declaration.to_string();
    };
    let fields = split_fields(body);
    if fields.is_empty() {
        return format!("{head}{{}};");
    }
    let mut out = format!("{head}{{\n");
    for (docs, field) in fields {
        out.push_str(&docs);
        out.push_str("  ");
        out.push_str(&field);
        out.push_str(",\n");
    }
    out.push_str("};");
    out
}

/// `("type X = ", "a: string, b: number, ")` when the whole declaration is one object type.
fn object_body(declaration: &str) -> Option<(&str, &str)> {
    // The first `=` ends the head (`type X<T> = `); a default type argument falls back.
    let open = declaration.find('=')? + 2;
    let (head, rest) = declaration.split_at(open);
    let body = rest.strip_prefix('{')?.strip_suffix("};")?;
    // The braces must close only at the end: `{ a } | { b }` is not one object.
    let mut depth = 0usize;
    for token in tokens(body) {
        match token {
            Token::Open(_) => depth += 1,
            Token::Close(_) if depth == 0 => return None,
            Token::Close(_) => depth -= 1,
            _ => {}
        }
    }
    (depth == 0).then_some((head, body))
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open(&'a str),
    Close(&'a str),
    Comma,
    Comment(&'a str),
    Text(&'a str),
}

/// The text split into brackets, commas, comments and the rest (string literals inside it).
fn tokens<'a>(text: &'a str) -> Vec<Token<'a>> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let flush = |tokens: &mut Vec<Token<'a>>, start: usize, end: usize| {
        if start < end {
            tokens.push(Token::Text(&text[start..end]));
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                flush(&mut tokens, start, i);
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(text.len(), |e| i + 2 + e + 2);
                tokens.push(Token::Comment(&text[i..end]));
                i = end;
                start = i;
            }
            c @ (b'{' | b'[' | b'(' | b'<' | b'}' | b']' | b')' | b'>' | b',') => {
                // `=>` is no closing bracket.
                if c == b'>' && i > 0 && bytes[i - 1] == b'=' {
                    i += 1;
                    continue;
                }
                flush(&mut tokens, start, i);
                let symbol = &text[i..=i];
                tokens.push(match c {
                    b',' => Token::Comma,
                    b'{' | b'[' | b'(' | b'<' => Token::Open(symbol),
                    _ => Token::Close(symbol),
                });
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    flush(&mut tokens, start, text.len().min(i));
    tokens
}

/// The fields of an object body at its top level, each with its TSDoc (indented, or empty).
fn split_fields(body: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut docs = String::new();
    let mut field = String::new();
    let mut depth = 0usize;
    for token in tokens(body) {
        match token {
            Token::Open(text) => {
                depth += 1;
                field.push_str(text);
            }
            Token::Close(text) => {
                depth = depth.saturating_sub(1);
                field.push_str(text);
            }
            Token::Comma if depth == 0 => {
                push_field(&mut fields, &mut docs, &mut field);
            }
            Token::Comma => field.push(','),
            Token::Comment(comment) if depth == 0 && field.trim().is_empty() => {
                docs.push_str(&tsdoc("  ", &comment_text(comment), &[]));
            }
            Token::Comment(comment) => field.push_str(comment),
            Token::Text(text) => field.push_str(text),
        }
    }
    push_field(&mut fields, &mut docs, &mut field);
    fields
}

fn push_field(fields: &mut Vec<(String, String)>, docs: &mut String, field: &mut String) {
    let text = field.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() {
        fields.push((std::mem::take(docs), text));
    }
    field.clear();
}

#[cfg(test)]
mod tests {
    use super::declaration;

    #[test]
    fn objects_get_one_field_a_line_with_their_docs() {
        let one_line = "type RoomMessage = { \n/**\n * Who wrote it.\n */\nuserName: string, \
                        sentAt: Timestamp, tags: Record<string, Array<string>>, kind: { \"a, b\": number, }, };";
        assert_eq!(
            declaration(one_line),
            "type RoomMessage = {\n  /** Who wrote it. */\n  userName: string,\n  \
             sentAt: Timestamp,\n  tags: Record<string, Array<string>>,\n  \
             kind: { \"a, b\": number, },\n};"
        );
    }

    #[test]
    fn other_declarations_stay_as_they_are() {
        for other in [
            "type Kind = { \"type\": \"Text\" } | { \"type\": \"Reply\", to: number, };",
            "type Id = string;",
            "type Pair = [number, string];",
            "type Weird = { a: string } & { b: number };",
        ] {
            assert_eq!(declaration(other), other);
        }
        assert_eq!(declaration("type Empty = {  };"), "type Empty = {};");
        assert_eq!(
            declaration("type F = { f: (a: number) => string, };"),
            "type F = {\n  f: (a: number) => string,\n};"
        );
    }
}
