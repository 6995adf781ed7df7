//! Rust names -> wire names.

use proc_macro2::Span;

use crate::ctxt::Ctxt;

/// A method's wire name, for the uniqueness rule.
pub(crate) struct WireName<'a> {
    pub(crate) ident: &'a syn::Ident,
    pub(crate) name: &'a str,
    pub(crate) span: Span,
}

/// Rule: wire names are unique without regard to case. Reports each later name that clashes
/// with an earlier one; `what` names the kind of method and `why` says who matches by case.
pub(crate) fn check_unique_wire_names(cx: &Ctxt, names: &[WireName<'_>], what: &str, why: &str) {
    for (i, later) in names.iter().enumerate() {
        if let Some(earlier) = names[..i]
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(later.name))
        {
            cx.syn_error(syn::Error::new(
                later.span,
                format!(
                    "{what} `{}` has the wire name `{}`, which clashes with `{}` of `{}`: {why}, so rename one with #[method(name = \"...\")]",
                    later.ident, later.name, earlier.name, earlier.ident
                ),
            ));
        }
    }
}

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
