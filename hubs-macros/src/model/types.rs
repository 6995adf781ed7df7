//! Recognizing the shapes of types: `&Context`, `UploadStream<T>`, `Result<T, E>`,
//! `impl Stream<Item = T>`; and writing a type back as users write it.

use syn::Type;

/// `&Context` (any path ending so): the calling connection.
pub(crate) fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none())
}

/// `UploadStream<T>` (any path ending so): its item type.
pub(crate) fn upload_item(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "UploadStream" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(item) => Some(item),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `ty` names `UploadStream` in any shape.
pub(crate) fn mentions_upload(ty: &Type) -> bool {
    quote::quote!(#ty)
        .into_iter()
        .any(|token| mentions_upload_token(&token))
}

fn mentions_upload_token(token: &proc_macro2::TokenTree) -> bool {
    match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "UploadStream",
        proc_macro2::TokenTree::Group(group) => group
            .stream()
            .into_iter()
            .any(|t| mentions_upload_token(&t)),
        _ => false,
    }
}

/// A stream the method returns: `impl Stream<Item = T>`, `Pin<Box<dyn Stream<Item = T> + ..>>`
/// or futures' `BoxStream<'_, T>` (any paths ending so): the item type.
pub(crate) fn stream_item(ty: &Type) -> Option<&Type> {
    match ty {
        Type::ImplTrait(bounds) => stream_bound_item(&bounds.bounds),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "BoxStream" | "LocalBoxStream" => only_type_argument(&last.arguments),
                "Pin" => match only_type_argument(&last.arguments)? {
                    Type::Path(boxed) => {
                        let boxed = boxed.path.segments.last()?;
                        if boxed.ident != "Box" {
                            return None;
                        }
                        match only_type_argument(&boxed.arguments)? {
                            Type::TraitObject(object) => stream_bound_item(&object.bounds),
                            _ => None,
                        }
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// The one type among a path segment's generic arguments (lifetimes aside).
fn only_type_argument(arguments: &syn::PathArguments) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

/// `Stream<Item = T>` among trait bounds: `T`.
fn stream_bound_item(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Option<&Type> {
    bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Stream" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// The type arguments of a `Result<T, E>`-shaped type: `T`, and `E` unless it is implied (an
/// alias such as `io::Result<T>`).
pub(crate) fn result_types(ty: &Type) -> Option<(&Type, Option<&Type>)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if p.qself.is_some() || last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let ok = types.next()?;
    Some((ok, types.next()))
}

/// `ty` as the user would write it (`Vec<String>`, not `Vec < String >`), for suggestions.
pub(crate) fn type_to_string(ty: &Type) -> String {
    let spaced = quote::quote!(#ty).to_string();
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let prev = out.chars().last();
        // Drop a space next to `<`, `>`, `::`, `&` and before `,`; keep the one after `,`.
        let tight = |c: Option<char>| matches!(c, Some('<' | '>' | ':' | '&'));
        if c == ' ' && (tight(prev) || tight(next) || next == Some(',')) && prev != Some(',') {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::type_to_string;

    #[test]
    fn writes_types_as_users_do() {
        for written in [
            "i32",
            "Vec<String>",
            "std::collections::HashMap<String, Vec<u8>>",
            "&'a str",
            "&mut [u8]",
            "(i32, String)",
            "Option<Box<dyn Send>>",
        ] {
            let ty: syn::Type = syn::parse_str(written).unwrap();
            assert_eq!(type_to_string(&ty), written);
        }
    }
}
