//! Code generation for `#[derive(Trace)]`.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Member, Type};

use crate::attrs::{self, FieldMode, TypeOptions};

/// One field of the type (or of one of its variants).
struct Field<'a> {
    member: Member,
    ty: &'a Type,
    mode: FieldMode,
}

/// The fields of a struct, or of one enum variant (`variant` is `None` for a struct).
struct Shape<'a> {
    variant: Option<&'a syn::Ident>,
    fields: Vec<Field<'a>>,
}

/// The span used for code generated on behalf of one field: it points at the field's type (so
/// errors are reported there) but resolves names at the derive's call site, like the rest of the
/// generated code.
fn field_span(ty: &Type) -> Span {
    ty.span().resolved_at(Span::call_site())
}

fn shape<'a>(variant: Option<&'a syn::Ident>, fields: &'a Fields) -> syn::Result<Shape<'a>> {
    let mut errors: Option<syn::Error> = None;
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let mode = match attrs::field_mode(&f.attrs) {
            Ok(mode) => mode,
            Err(e) => {
                push_error(&mut errors, e);
                continue;
            }
        };
        let member = match &f.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index::from(i)),
        };
        out.push(Field {
            member,
            ty: &f.ty,
            mode,
        });
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(Shape {
            variant,
            fields: out,
        }),
    }
}

fn push_error(errors: &mut Option<syn::Error>, e: syn::Error) {
    match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    }
}

/// Expands `#[derive(Trace)]` on `input`.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let opts = attrs::type_options(&input.attrs)?;
    attrs::not_packed(&input.attrs)?;

    let shapes = match &input.data {
        Data::Struct(s) => vec![shape(None, &s.fields)?],
        Data::Enum(e) => {
            let mut errors = None;
            let mut shapes = Vec::new();
            for v in &e.variants {
                let res = attrs::no_variant_options(&v.attrs)
                    .and_then(|()| shape(Some(&v.ident), &v.fields));
                match res {
                    Ok(s) => shapes.push(s),
                    Err(e) => push_error(&mut errors, e),
                }
            }
            if let Some(e) = errors {
                return Err(e);
            }
            shapes
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "#[derive(Trace)] does not support unions: the collector could not tell which \
                 field is active. Use an enum, or write an `unsafe impl Trace` by hand",
            ));
        }
    };

    Ok(generate(input, &opts, &shapes))
}

fn generate(input: &DeriveInput, opts: &TypeOptions, shapes: &[Shape<'_>]) -> TokenStream {
    let krate = &opts.krate;
    let name = &input.ident;
    let is_static = opts.is_static.is_some();

    // The brand: the type's own lifetime parameter named `gc_lifetime` (default `'gc`) if it has
    // one, otherwise a fresh lifetime parameter of that name added to the impl's generics.
    let mut generics = input.generics.clone();
    let brand = &opts.gc_lifetime;
    if !input
        .generics
        .lifetimes()
        .any(|param| param.lifetime.ident == brand.ident)
    {
        generics.params.insert(
            0,
            syn::GenericParam::Lifetime(syn::LifetimeParam::new(brand.clone())),
        );
    }
    let trace_trait = quote!(#krate::Trace<#brand>);

    // The impl's where clause: the type's own, plus the automatic (or user-given) bounds.
    {
        let where_clause = generics.make_where_clause();
        match &opts.bound {
            Some(bound) => where_clause.predicates.extend(bound.iter().cloned()),
            None => {
                for param in input.generics.type_params() {
                    let ident = &param.ident;
                    where_clause.predicates.push(if is_static {
                        syn::parse_quote!(#ident: 'static + ::core::marker::Send)
                    } else {
                        syn::parse_quote!(#ident: #trace_trait)
                    });
                }
            }
        }
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();

    let mut checks = Vec::new();
    let mut helpers = Vec::new();
    let (needs_trace, needs_claim, body);
    let mut tracer = quote!(tracer);

    if is_static {
        let span = opts.is_static.unwrap_or_else(Span::call_site);
        helpers.push(quote! {
            #[inline(always)]
            fn static_type_must_be_static_and_send<
                T: ?::core::marker::Sized + 'static + ::core::marker::Send,
            >() {
            }
        });
        checks.push(quote_spanned!(span=> static_type_must_be_static_and_send::<Self>();));
        needs_trace = quote!(false);
        needs_claim = quote!(false);
        body = quote!();
        tracer = quote!(_tracer);
    } else {
        let fields = || shapes.iter().flat_map(|s| s.fields.iter());
        let skipped: Vec<_> = fields().filter(|f| f.mode == FieldMode::Skipped).collect();
        if !skipped.is_empty() {
            helpers.push(quote! {
                #[inline(always)]
                fn skipped_field_must_be_static_and_send<
                    T: ?::core::marker::Sized + 'static + ::core::marker::Send,
                >() {
                }
            });
        }
        for f in skipped {
            let ty = f.ty;
            // The call spans the whole type (first token to last), which is where rustc reports
            // an unmet bound or a lifetime that is not `'static`.
            let mut args = Group::new(Delimiter::Parenthesis, TokenStream::new());
            args.set_span(last_span(ty));
            checks.push(quote_spanned!(field_span(ty)=>
                skipped_field_must_be_static_and_send::<#ty> #args;
            ));
        }

        let constant = |name: TokenStream| {
            let terms: Vec<_> = fields()
                .filter(|f| f.mode != FieldMode::Skipped)
                .map(|f| {
                    if f.mode == FieldMode::Recursive {
                        return quote!(true);
                    }
                    let ty = f.ty;
                    let span = field_span(ty);
                    let trait_ = respan(trace_trait.clone(), span);
                    let name = respan(name.clone(), span);
                    quote_spanned!(span=> <#ty as #trait_>::#name)
                })
                .collect();
            if terms.is_empty() {
                quote!(false)
            } else {
                quote!(#(#terms)||*)
            }
        };
        needs_trace = constant(quote!(NEEDS_TRACE));
        needs_claim = constant(quote!(NEEDS_CLAIM));
        if fields().any(|f| f.mode != FieldMode::Skipped) {
            body = trace_body(&trace_trait, &input.data, shapes);
        } else {
            body = quote!();
            tracer = quote!(_tracer);
        }
    }

    // Drop rejection: the hidden trait below has a blanket impl for every `Drop` type and an
    // impl for the deriving type; if the deriving type implements `Drop`, the two overlap and
    // coherence reports the conflict under the trait's self-explaining name. `'static` types
    // hold no GC pointers, so their `Drop` cannot dereference one.
    let drop_check = if opts.unsafe_drop || is_static {
        quote!()
    } else {
        let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
        // Spanned at the type's name, so that the conflict is reported there.
        let span = name.span().resolved_at(Span::call_site());
        let type_impl = quote_spanned! {span=>
            impl #impl_generics __TricolorTypeMustNotImplementDropUseTraceUnsafeDrop
                for #name #ty_generics #where_clause
            {
            }
        };
        quote! {
            #[allow(dead_code, non_camel_case_types)]
            trait __TricolorTypeMustNotImplementDropUseTraceUnsafeDrop {}
            #[allow(drop_bounds)]
            impl<T: ::core::ops::Drop> __TricolorTypeMustNotImplementDropUseTraceUnsafeDrop
                for T
            {
            }
            #type_impl
        }
    };

    quote! {
        const _: () = {
            #drop_check
            #(#helpers)*

            // SAFETY (of the generated impl, against the numbered contract of `Trace`):
            // 1. `trace` calls `Trace::trace` on every field that is not skipped; a skipped field
            //    (or the whole type, for `#[trace(static)]`) is checked by the helper calls to be
            //    `'static`, so it holds no GC pointer (each carries a non-`'static` `'gc` brand).
            // 2. `trace` does nothing else (the helper calls are empty functions).
            // 3. The drop glue is the fields' drop glue, sound on any thread because every traced
            //    field is `Trace` and every skipped field is checked to be `Send`.
            // 4. A `Drop` impl is rejected (the hidden trait above) unless the type is `'static`
            //    (holds no GC pointer) or the user opted in with `unsafe_drop`, which documents
            //    this rule as the user's obligation.
            // 5. The impl adds no way to mutate the value; each field's type follows rule 5.
            // 6. The constants are the OR of the traced fields' (`true` for `recursive` fields,
            //    which is conservative); skipped fields hold no GC pointer and need no claim.
            // The brand: the impl is for one brand `'gc`, and the constants and the `trace` calls
            // name every traced field's type as `Trace<'gc>` with that same `'gc`, so a field
            // holding a GC pointer of another brand (another scope or heap) does not compile.
            // A `'static` type or skipped field holds no GC pointer of any brand.
            #[automatically_derived]
            unsafe impl #impl_generics #trace_trait for #name #ty_generics #where_clause {
                const NEEDS_TRACE: bool = #needs_trace;
                const NEEDS_CLAIM: bool = #needs_claim;

                #[inline]
                fn trace(&self, #tracer: &mut #krate::Tracer) {
                    #(#checks)*
                    #body
                }
            }
        };
    }
}

/// `<Ty as Trace<'gc>>::trace(place, tracer);`: naming the brand forces the field's type to be
/// `Trace` for the deriving type's brand, not for some other lifetime.
fn trace_call(trace_trait: &TokenStream, ty: &Type, place: TokenStream) -> TokenStream {
    let span = field_span(ty);
    let trait_ = respan(trace_trait.clone(), span);
    let rest = respan(quote!(::trace(#place, tracer);), span);
    quote_spanned!(span=> <#ty as #trait_> #rest)
}

/// The span of the last token of `ty` (resolved at the call site).
fn last_span(ty: &Type) -> Span {
    ty.to_token_stream()
        .into_iter()
        .last()
        .map_or_else(|| ty.span(), |t| t.span())
        .resolved_at(Span::call_site())
}

/// Gives every token of `tokens` the span `span`. Used for code generated on behalf of one field,
/// so that rustc reports an error in it at the field's type rather than at a span stretching from
/// the derive attribute to the field (the span of tokens of mixed origin).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                tree = TokenTree::Group(new);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The traced fields of `s`: (position, member, type).
fn traced<'a>(s: &Shape<'a>) -> Vec<(usize, Member, &'a Type)> {
    s.fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.mode != FieldMode::Skipped)
        .map(|(i, f)| (i, f.member.clone(), f.ty))
        .collect()
}

fn trace_body(trace_trait: &TokenStream, data: &Data, shapes: &[Shape<'_>]) -> TokenStream {
    match data {
        Data::Struct(_) => {
            let calls = traced(&shapes[0])
                .into_iter()
                .map(|(_, member, ty)| trace_call(trace_trait, ty, quote!(&self.#member)));
            quote!(#(#calls)*)
        }
        _ => {
            let arms = shapes.iter().map(|s| {
                let variant = s.variant;
                let fields = traced(s);
                let binds: Vec<_> = fields
                    .iter()
                    .map(|(i, _, _)| format_ident!("__tricolor_field_{}", i))
                    .collect();
                let members = fields.iter().map(|(_, m, _)| m);
                let calls = fields
                    .iter()
                    .zip(&binds)
                    .map(|((_, _, ty), b)| trace_call(trace_trait, ty, quote!(#b)));
                quote! {
                    Self::#variant { #(#members: #binds,)* .. } => { #(#calls)* }
                }
            });
            quote! {
                match self {
                    #(#arms)*
                }
            }
        }
    }
}
