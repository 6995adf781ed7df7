//! Rust names -> wire names.

/// `send_message` -> `SendMessage`.
pub(crate) fn pascal_case(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let mut out = String::with_capacity(name.len());
    for word in name.split('_').filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pascal_case;

    #[test]
    fn converts_snake_case() {
        for (rust, wire) in [
            ("send_message", "SendMessage"),
            ("join_group", "JoinGroup"),
            ("echo", "Echo"),
            ("get_id2", "GetId2"),
            ("_private_thing", "PrivateThing"),
            ("r#type", "Type"),
            ("already_Pascal", "AlreadyPascal"),
            ("a__b", "AB"),
        ] {
            assert_eq!(pascal_case(rust), wire, "{rust}");
        }
    }
}
