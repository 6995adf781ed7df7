//! Rust names in TypeScript, string literals and TSDoc comments.

/// `send_message` -> `sendMessage`: the rule camelCase JSON property names follow too, kept
/// in one place by the runtime.
pub(crate) use hubs::describe::camel_case;

/// Words that cannot name a parameter in a strict-mode ES module, and the two names the
/// generated functions give their own parameters.
const RESERVED: &[&str] = &[
    "arguments",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "connection",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "receiver",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// A parameter's name in TypeScript: camelCase, with `_` appended to reserved words (and to
/// `connection` and `receiver`, which the generated functions use) and `argN` for a name
/// with nothing left.
pub(crate) fn parameter(name: &str, index: usize) -> String {
    let mut name = camel_case(name);
    if name.is_empty() {
        name = format!("arg{index}");
    }
    if RESERVED.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

/// `text` as a double-quoted TypeScript string literal.
pub(crate) fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Line and paragraph separators end a line in older engines.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Rust doc comment text (lines joined with `\n`, each as written after `///`) as lines
/// without the common indentation and without blank lines at either end.
fn doc_lines(docs: &str) -> Vec<&str> {
    let lines: Vec<&str> = docs.lines().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut lines: Vec<&str> = lines
        .into_iter()
        .map(|line| line.get(indent..).unwrap_or_default())
        .collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    let start = lines.iter().take_while(|line| line.is_empty()).count();
    lines.drain(..start);
    lines
}

/// The text of a `/** ... */` comment, as doc comment lines (`ts-rs` writes one line a row,
/// each after ` * `).
pub(crate) fn comment_text(comment: &str) -> String {
    let inner = comment.trim();
    let inner = inner.strip_prefix("/**").unwrap_or(inner);
    let inner = inner.strip_suffix("*/").unwrap_or(inner);
    let lines: Vec<&str> = inner
        .lines()
        .map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix('*').unwrap_or(line);
            line.strip_prefix(' ').unwrap_or(line)
        })
        .collect();
    lines.join("\n")
}

/// A TSDoc comment indented by `indent`, from a doc comment and `@param` lines for the
/// parameters' doc comments; empty when there is nothing to say. Ends with a newline.
pub(crate) fn tsdoc(indent: &str, docs: &str, params: &[(String, &str)]) -> String {
    let mut lines: Vec<String> = doc_lines(docs).into_iter().map(String::from).collect();
    for (name, docs) in params {
        let param = doc_lines(docs);
        let Some((first, rest)) = param.split_first() else {
            continue;
        };
        if !lines.is_empty() && !lines.last().is_some_and(|l| l.starts_with("@param")) {
            lines.push(String::new());
        }
        lines.push(format!("@param {name} {first}"));
        lines.extend(rest.iter().map(|line| format!("  {line}")));
    }
    // `*/` would end the comment early.
    let lines: Vec<String> = lines.iter().map(|l| l.replace("*/", "*\\/")).collect();
    match lines.as_slice() {
        [] => String::new(),
        [line] => format!("{indent}/** {line} */\n"),
        lines => {
            let mut out = format!("{indent}/**\n");
            for line in lines {
                if line.is_empty() {
                    out.push_str(&format!("{indent} *\n"));
                } else {
                    out.push_str(&format!("{indent} * {line}\n"));
                }
            }
            out.push_str(&format!("{indent} */\n"));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_follows_the_wire_name_rule() {
        for (rust, ts) in [
            ("send_message", "sendMessage"),
            ("echo", "echo"),
            ("get_id2", "getId2"),
            ("_private_thing", "privateThing"),
            ("r#type", "type"),
            ("a__b", "aB"),
        ] {
            assert_eq!(camel_case(rust), ts, "{rust}");
        }
    }

    #[test]
    fn parameters_avoid_reserved_words() {
        assert_eq!(parameter("delay_ms", 0), "delayMs");
        assert_eq!(parameter("r#in", 0), "in_");
        assert_eq!(parameter("new", 1), "new_");
        assert_eq!(parameter("connection", 1), "connection_");
        assert_eq!(parameter("receiver", 1), "receiver_");
        assert_eq!(parameter("_", 3), "arg3");
    }

    #[test]
    fn string_literals_escape_quotes_and_controls() {
        assert_eq!(string_literal("SendMessage"), "\"SendMessage\"");
        assert_eq!(
            string_literal("a\"b\\c\nd\u{1}"),
            "\"a\\\"b\\\\c\\nd\\u{1}\""
        );
    }

    #[test]
    fn comments_become_doc_text_again() {
        let comment = "/**\n * A room.\n *\n *   indented\n */";
        assert_eq!(comment_text(comment), "\nA room.\n\n  indented\n");
        assert_eq!(
            tsdoc("", &comment_text(comment), &[]),
            "/**\n * A room.\n *\n *   indented\n */\n"
        );
        assert_eq!(
            tsdoc("", &comment_text("/** One. */"), &[]),
            "/** One. */\n"
        );
    }

    #[test]
    fn tsdoc_is_one_line_when_it_can_be() {
        assert_eq!(tsdoc("  ", " Sends it.", &[]), "  /** Sends it. */\n");
        assert_eq!(tsdoc("", "", &[("a".into(), "")]), "");
    }

    #[test]
    fn tsdoc_keeps_paragraphs_and_documents_parameters() {
        let docs = " First.\n\n Second, with `*/` inside.\n    indented";
        let params = [
            ("text".to_string(), " The text."),
            ("n".to_string(), ""),
            ("more".to_string(), " Line one.\n Line two."),
        ];
        assert_eq!(
            tsdoc("", docs, &params),
            "/**\n * First.\n *\n * Second, with `*\\/` inside.\n *    indented\n *\n \
             * @param text The text.\n * @param more Line one.\n *   Line two.\n */\n"
        );
    }
}
