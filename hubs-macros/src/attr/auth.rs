//! `#[authorize(...)]` and `#[allow_anonymous]`, on a `#[hub]` impl or its methods.
//!
//! Forms: `#[authorize]` (any signed-in user), `#[authorize(roles = "Admin,Manager")]` (any one
//! of the roles), `#[authorize(policy = "Name")]`, or both keys in one attribute (both must pass).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

use super::{ALLOW_ANONYMOUS, AUTHORIZE, is_named};
use crate::ctxt::Ctxt;

/// One `#[authorize(...)]` as written.
pub(crate) struct AuthorizeAttr {
    /// The attribute's path as written (`authorize`, `hubs::authorize`).
    pub(crate) path: syn::Path,
    /// The whole attribute, for errors about it.
    pub(crate) tokens: TokenStream,
    /// `roles = "Admin,Manager"`.
    pub(crate) roles: Option<LitStr>,
    /// `policy = "Name"`.
    pub(crate) policy: Option<LitStr>,
}

/// One `#[allow_anonymous]`.
pub(crate) struct AllowAnonymousAttr {
    /// The attribute's path as written.
    pub(crate) path: syn::Path,
    /// The whole attribute, for errors about it.
    pub(crate) tokens: TokenStream,
}

/// The authorization helpers found on one item, in source order.
#[derive(Default)]
pub(crate) struct AuthAttrs {
    pub(crate) authorize: Vec<AuthorizeAttr>,
    pub(crate) allow_anonymous: Vec<AllowAnonymousAttr>,
}

const EXPECTED: &str = "#[authorize] takes `roles = \"Admin,Manager\"` (any one of the roles passes) and `policy = \"Name\"` (a policy registered on the endpoint), each at most once, or nothing (any signed-in user)";

/// Takes every `#[authorize]` and `#[allow_anonymous]` off an item, returning what they said.
pub(crate) fn take_auth_attrs(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> AuthAttrs {
    let mut found = AuthAttrs::default();
    attrs.retain(|attr| {
        if is_named(attr, AUTHORIZE) {
            if let Some(authorize) = authorize(cx, attr) {
                found.authorize.push(authorize);
            }
            false
        } else if is_named(attr, ALLOW_ANONYMOUS) {
            if !matches!(attr.meta, Meta::Path(_)) {
                cx.error_spanned_by(
                    attr,
                    "#[allow_anonymous] takes no arguments: write `#[allow_anonymous]`",
                );
            }
            found.allow_anonymous.push(AllowAnonymousAttr {
                path: attr.path().clone(),
                tokens: attr.to_token_stream(),
            });
            false
        } else {
            true
        }
    });
    found
}

/// Reads one `#[authorize(...)]`; `None` when it is malformed (the error is recorded).
fn authorize(cx: &Ctxt, attr: &Attribute) -> Option<AuthorizeAttr> {
    let mut out = AuthorizeAttr {
        path: attr.path().clone(),
        tokens: attr.to_token_stream(),
        roles: None,
        policy: None,
    };
    let tokens = match &attr.meta {
        Meta::Path(_) => return Some(out),
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(_) => {
            cx.error_spanned_by(
                attr,
                format!(
                    "expected `#[authorize(roles = \"...\")]`, not `#[authorize = ...]`; {EXPECTED}"
                ),
            );
            return None;
        }
    };
    let args = match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(args) => args,
        Err(e) => {
            cx.syn_error(syn::Error::new(e.span(), format!("{e}; {EXPECTED}")));
            return None;
        }
    };
    let mut ok = true;
    for arg in args {
        ok &= read_arg(cx, arg, &mut out);
    }
    ok.then_some(out)
}

/// Reads one `key = "value"` of `#[authorize(...)]` into `out`.
fn read_arg(cx: &Ctxt, arg: Expr, out: &mut AuthorizeAttr) -> bool {
    let (key, value) = match arg {
        Expr::Assign(assign) => match &*assign.left {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                (p.path.get_ident().cloned(), *assign.right)
            }
            other => {
                cx.error_spanned_by(other, format!("expected a key; {EXPECTED}"));
                return false;
            }
        },
        // Rule: keys are named, so the attribute reads the same to everyone.
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let v = s.value();
            cx.error_spanned_by(
                &s,
                format!(
                    "#[authorize] takes named keys: write `roles = \"{v}\"` to require a role, or `policy = \"{v}\"` to require a policy"
                ),
            );
            return false;
        }
        Expr::Path(p) if matches!(p.path.get_ident(), Some(k) if k == "roles" || k == "policy") => {
            let key = p
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            cx.error_spanned_by(&p, format!("expected `{key} = \"...\"`; {EXPECTED}"));
            return false;
        }
        other => (None, other),
    };
    let Some(key) = key else {
        let what = match &value {
            Expr::Path(p) => p.to_token_stream().to_string(),
            _ => String::new(),
        };
        let message = match suggest(&what) {
            Some(known) => {
                format!("unknown key `{what}` in #[authorize]; did you mean `{known}`? {EXPECTED}")
            }
            None => format!("unexpected argument in #[authorize]; {EXPECTED}"),
        };
        cx.error_spanned_by(&value, message);
        return false;
    };
    let name = key.to_string();
    if name != "roles" && name != "policy" {
        let message = match suggest(&name) {
            Some(known) => {
                format!("unknown key `{name}` in #[authorize]; did you mean `{known}`? {EXPECTED}")
            }
            None => format!("unknown key `{name}` in #[authorize]; {EXPECTED}"),
        };
        cx.error_spanned_by(&key, message);
        return false;
    }
    // Rule: values are string literals, roles separated by commas in one string.
    let Expr::Lit(ExprLit {
        lit: Lit::Str(value),
        ..
    }) = value
    else {
        let example = match (&value, name.as_str()) {
            (Expr::Array(array), "roles") => format!(
                "roles = \"{}\"",
                array
                    .elems
                    .iter()
                    .filter_map(|e| match e {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => Some(s.value()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            (Expr::Path(p), _) => format!("{name} = \"{}\"", p.to_token_stream()),
            (_, "roles") => "roles = \"Admin,Manager\"".to_string(),
            _ => "policy = \"Name\"".to_string(),
        };
        let what = if name == "roles" {
            "the roles are one string literal, separated by commas"
        } else {
            "the policy is named by a string literal"
        };
        cx.error_spanned_by(&value, format!("{what}: write `{example}`"));
        return false;
    };
    let slot = if name == "roles" {
        &mut out.roles
    } else {
        &mut out.policy
    };
    // Rule: each key once per attribute; a second attribute adds a requirement.
    if slot.is_some() {
        let how = if name == "roles" {
            "list every role in one `roles = \"A,B\"` (any one passes), or write a second #[authorize(roles = \"...\")] to require both"
        } else {
            "write a second #[authorize(policy = \"...\")] to require both policies"
        };
        cx.error_spanned_by(
            &key,
            format!("`{name}` is given twice in one #[authorize]; {how}"),
        );
        return false;
    }
    *slot = Some(value);
    true
}

/// The known key a misspelled or differently cased one probably meant.
fn suggest(key: &str) -> Option<&'static str> {
    match key.to_ascii_lowercase().as_str() {
        "role" | "roles" => Some("roles"),
        "policy" | "policies" => Some("policy"),
        _ => None,
    }
}
