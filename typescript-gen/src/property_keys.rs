//! The JSON protocol's property names in generated types: the keys of object-literal types in
//! a `ts-rs` declaration, renamed by the hub's [`JsonPropertyNames`] setting. Only keys change;
//! string-literal types (enum variants), comments and type names are left as written.

use hubs::JsonPropertyNames;

/// `declaration` with each object key renamed as `names` writes it on the JSON wire.
pub(crate) fn rename_keys(declaration: &str, names: JsonPropertyNames) -> String {
    if names == JsonPropertyNames::AsDeclared {
        return declaration.to_string();
    }
    let bytes = declaration.as_bytes();
    let mut out = String::with_capacity(declaration.len());
    // Open brackets; a key can start only right after `{`, or after `,` directly inside one.
    let mut open: Vec<u8> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            out.push(c as char);
            i += 1;
            continue;
        }
        if declaration[i..].starts_with("/*") {
            let end = declaration[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |e| i + 2 + e + 2);
            out.push_str(&declaration[i..end]);
            i = end;
            continue;
        }
        if c == b'"' {
            let end = string_end(bytes, i);
            let literal = &declaration[i..end];
            if expect_key && followed_by_colon(bytes, end) {
                let inner = &literal[1..literal.len() - 1];
                // A quoted key is a name no identifier could be: only plain text is renamed.
                if !inner.contains('\\') {
                    out.push('"');
                    out.push_str(&names.property_name(inner));
                    out.push('"');
                } else {
                    out.push_str(literal);
                }
            } else {
                out.push_str(literal);
            }
            expect_key = false;
            i = end;
            continue;
        }
        if is_identifier_byte(c) {
            let end = (i..bytes.len())
                .find(|&j| !is_identifier_byte(bytes[j]))
                .unwrap_or(bytes.len());
            let word = &declaration[i..end];
            if expect_key && followed_by_colon(bytes, end) {
                out.push_str(&names.property_name(word));
            } else {
                out.push_str(word);
            }
            expect_key = false;
            i = end;
            continue;
        }
        match c {
            b'{' | b'[' | b'(' | b'<' => open.push(c),
            b'}' | b']' | b')' => {
                open.pop();
            }
            // `>` closes a type argument list; `=>` does not.
            b'>' if open.last() == Some(&b'<') => {
                open.pop();
            }
            _ => {}
        }
        expect_key = c == b'{' || (c == b',' && open.last() == Some(&b'{'));
        out.push(c as char);
        i += 1;
    }
    out
}

fn is_identifier_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || !c.is_ascii()
}

/// The index just past the string literal starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Whether `:` or `?:` follows `at`, past spaces.
fn followed_by_colon(bytes: &[u8], at: usize) -> bool {
    let rest = &bytes[at..];
    let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    rest.starts_with(b":") || rest.starts_with(b"?:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camel(declaration: &str) -> String {
        rename_keys(declaration, JsonPropertyNames::CamelCase)
    }

    #[test]
    fn renames_keys_of_nested_object_types() {
        assert_eq!(
            camel(
                "type Person = { user_name: string, home_address: { street_name: string, zip: number } | null, tags: Array<{ tag_id: number, }>, };"
            ),
            "type Person = { userName: string, homeAddress: { streetName: string, zip: number } | null, tags: Array<{ tagId: number, }>, };"
        );
    }

    #[test]
    fn renames_optional_and_quoted_keys_and_keeps_string_literal_types() {
        assert_eq!(
            camel(
                r#"type Shape = { "Circle": { radius_px: number, } } | { "Square": number } | "Point_Like"; type K = { kind: "snake_value", "odd_key"?: number, "kebab-key": string, opt_key?: string };"#
            ),
            r#"type Shape = { "Circle": { radiusPx: number, } } | { "Square": number } | "Point_Like"; type K = { kind: "snake_value", "oddKey"?: number, "kebab-key": string, optKey?: string };"#
        );
    }

    #[test]
    fn keeps_generics_map_keys_comments_and_names_without_underscores() {
        assert_eq!(
            camel(
                "type Page_Of<T_Item> = { item_list: Array<T_Item>, /** the page_size: docs */ page_size: number, by_key: { [key in string]?: T_Item }, ByteArray: string, };"
            ),
            "type Page_Of<T_Item> = { itemList: Array<T_Item>, /** the page_size: docs */ pageSize: number, byKey: { [key in string]?: T_Item }, ByteArray: string, };"
        );
        assert_eq!(
            camel("type Pair = [first_item: number];"),
            "type Pair = [first_item: number];"
        );
    }

    #[test]
    fn as_declared_changes_nothing() {
        let declaration = "type A = { user_name: string };";
        assert_eq!(
            rename_keys(declaration, JsonPropertyNames::AsDeclared),
            declaration
        );
    }
}
