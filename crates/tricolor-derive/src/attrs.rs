//! Parsing of the `#[trace(...)]` attributes on the type, its variants and its fields.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Lifetime, LitStr, Path, Token, WherePredicate};

/// The options given on the type itself.
pub(crate) struct TypeOptions {
    /// `#[trace(static)]` / `#[trace(no_trace)]`: the whole type holds no GC pointers.
    pub(crate) is_static: Option<Span>,
    /// `#[trace(unsafe_drop)]`: the type may implement `Drop`.
    pub(crate) unsafe_drop: bool,
    /// `#[trace(bound = "...")]`: replaces the automatic bounds on the type parameters.
    pub(crate) bound: Option<Punctuated<WherePredicate, Token![,]>>,
    /// `#[trace(crate = "...")]`: the path of the `tricolor` crate.
    pub(crate) krate: Path,
    /// `#[trace(gc_lifetime = "'a")]`: the name of the brand lifetime (default `'gc`).
    pub(crate) gc_lifetime: Lifetime,
}

/// How one field is handled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldMode {
    /// Traced; its type's constants count towards the type's.
    Traced,
    /// `#[trace(recursive)]`: traced, but counted as `true` in the constants (its type contains
    /// the deriving type, so asking for its constants would be a const-evaluation cycle).
    Recursive,
    /// `#[trace(skip)]` / `#[trace(static)]`: not traced; its type must be `'static + Send`.
    Skipped,
}

const TYPE_OPTIONS: &str = "expected one of `static`, `no_trace`, `unsafe_drop`, \
                            `bound = \"...\"`, `gc_lifetime = \"'...\"`, `crate = \"...\"`";
const FIELD_OPTIONS: &str = "expected one of `skip`, `static`, `recursive`";

fn is_trace_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("trace")
}

/// Fails unless the option just parsed is a bare flag (no `= value`, no `(...)`).
fn flag(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Ok(())
    } else {
        Err(meta.error(format_args!(
            "`{name}` takes no value: write `#[trace({name})]`"
        )))
    }
}

fn name_of(path: &Path) -> String {
    path.get_ident().map_or_else(
        || quote::quote!(#path).to_string().replace(' ', ""),
        ToString::to_string,
    )
}

/// Parses the `#[trace(...)]` attributes on the deriving type.
pub(crate) fn type_options(attrs: &[Attribute]) -> syn::Result<TypeOptions> {
    let mut is_static = None;
    let mut unsafe_drop = None;
    let mut bound = None;
    let mut krate = None;
    let mut gc_lifetime = None;
    for attr in attrs.iter().filter(|a| is_trace_attr(a)) {
        attr.parse_nested_meta(|meta| {
            let name = name_of(&meta.path);
            let span = meta.path.span();
            let dup = || meta.error(format_args!("duplicate `trace` option `{name}`"));
            match name.as_str() {
                "static" | "no_trace" => {
                    flag(&meta, &name)?;
                    if is_static.replace(span).is_some() {
                        return Err(dup());
                    }
                }
                "unsafe_drop" => {
                    flag(&meta, &name)?;
                    if unsafe_drop.replace(()).is_some() {
                        return Err(dup());
                    }
                }
                "bound" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    let preds = lit.parse_with(Punctuated::parse_terminated)?;
                    if bound.replace(preds).is_some() {
                        return Err(dup());
                    }
                }
                "crate" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if krate.replace(lit.parse::<Path>()?).is_some() {
                        return Err(dup());
                    }
                }
                "gc_lifetime" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    let lifetime = lit.parse::<Lifetime>().map_err(|_| {
                        syn::Error::new(
                            lit.span(),
                            "expected a lifetime, such as `gc_lifetime = \"'gc\"`",
                        )
                    })?;
                    if lifetime.ident == "static" || lifetime.ident == "_" {
                        return Err(syn::Error::new(
                            lit.span(),
                            format_args!(
                                "`{lifetime}` cannot be the brand: name one of the type's lifetime \
                                 parameters, or a fresh lifetime"
                            ),
                        ));
                    }
                    if gc_lifetime.replace(lifetime).is_some() {
                        return Err(dup());
                    }
                }
                "skip" | "recursive" => {
                    return Err(meta.error(format_args!(
                        "`{name}` is a field option; to declare that the whole type holds no GC \
                         pointers, use `#[trace(static)]` on the type"
                    )));
                }
                _ => {
                    return Err(meta.error(format_args!(
                        "unknown `trace` option `{name}` on a type: {TYPE_OPTIONS}"
                    )));
                }
            }
            Ok(())
        })?;
    }
    Ok(TypeOptions {
        is_static,
        unsafe_drop: unsafe_drop.is_some(),
        bound,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::tricolor)),
        gc_lifetime: gc_lifetime.unwrap_or_else(|| Lifetime::new("'gc", Span::call_site())),
    })
}

/// Parses the `#[trace(...)]` attributes on one field.
pub(crate) fn field_mode(attrs: &[Attribute]) -> syn::Result<FieldMode> {
    let mut mode = None;
    for attr in attrs.iter().filter(|a| is_trace_attr(a)) {
        attr.parse_nested_meta(|meta| {
            let name = name_of(&meta.path);
            let new = match name.as_str() {
                "skip" | "static" => FieldMode::Skipped,
                "recursive" => FieldMode::Recursive,
                "no_trace" | "unsafe_drop" | "bound" | "gc_lifetime" | "crate" => {
                    return Err(meta.error(format_args!(
                        "`{name}` is a type option: put it in a `#[trace(...)]` on the struct or \
                         enum itself"
                    )));
                }
                _ => {
                    return Err(meta.error(format_args!(
                        "unknown `trace` option `{name}` on a field: {FIELD_OPTIONS}"
                    )));
                }
            };
            flag(&meta, &name)?;
            match mode.replace(new) {
                Some(old) if old != new => Err(meta.error(
                    "a field is either skipped (`skip`/`static`) or traced (`recursive`), not both",
                )),
                Some(_) => Err(meta.error(format_args!("duplicate `trace` option `{name}`"))),
                None => Ok(()),
            }
        })?;
    }
    Ok(mode.unwrap_or(FieldMode::Traced))
}

/// Rejects `#[trace(...)]` on an enum variant.
pub(crate) fn no_variant_options(attrs: &[Attribute]) -> syn::Result<()> {
    match attrs.iter().find(|a| is_trace_attr(a)) {
        Some(attr) => Err(syn::Error::new_spanned(
            attr,
            "`#[trace(...)]` is not supported on enum variants: put `#[trace(skip)]` on the \
             variant's fields, or `#[trace(static)]` on the whole enum",
        )),
        None => Ok(()),
    }
}

/// Rejects `#[repr(packed)]`: fields of a packed type cannot be borrowed for tracing.
pub(crate) fn not_packed(attrs: &[Attribute]) -> syn::Result<()> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let mut packed = None;
        // A malformed `repr` is reported by the compiler itself; ignore parse errors here.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("packed") {
                packed = Some(meta.path.span());
            }
            if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                let _ = meta.input.parse::<proc_macro2::TokenTree>();
            }
            Ok(())
        });
        if let Some(span) = packed {
            return Err(syn::Error::new(
                span,
                "#[derive(Trace)] does not support `#[repr(packed)]` types: their fields cannot \
                 be borrowed for tracing",
            ));
        }
    }
    Ok(())
}
