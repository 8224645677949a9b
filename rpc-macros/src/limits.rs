//! The limits the macro enforces, and the runtime code that must agree with them.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Token;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

/// The most params one method may have: `rpc-core` decodes argument tuples up to this size.
pub(crate) const MAX_PARAMS: usize = 16;

/// `tuple!(N => 0 T0 v0, ..)` for every arity from 1 to [`MAX_PARAMS`], `variadic!(0 T0, ..)`
/// for every count of fixed params before a variadic one (0 to `MAX_PARAMS - 1`), and
/// `pub const MAX_PARAMS`, given the names of the two `macro_rules!` as `tuple, variadic`.
pub(crate) fn params_impls(input: TokenStream) -> syn::Result<TokenStream> {
    let names = Punctuated::<syn::Ident, Token![,]>::parse_terminated.parse2(input)?;
    let [tuple, variadic] = <[syn::Ident; 2]>::try_from(names.into_iter().collect::<Vec<_>>())
        .map_err(|_| {
            syn::Error::new(
                proc_macro2::Span::call_site(),
                "expected the names of the tuple and the variadic macros",
            )
        })?;
    let element = |i: usize| {
        (
            Literal::usize_unsuffixed(i),
            format_ident!("T{i}"),
            format_ident!("v{i}"),
        )
    };
    let tuples = (1..=MAX_PARAMS).map(|len| {
        let elements = (0..len).map(element).map(|(i, t, v)| quote!(#i #t #v));
        quote!(#tuple!(#len => #(#elements),*);)
    });
    let variadics = (0..MAX_PARAMS).map(|fixed| {
        let elements = (0..fixed).map(element).map(|(i, t, _)| quote!(#i #t));
        quote!(#variadic!(#(#elements),*);)
    });
    Ok(quote! {
        #(#tuples)*
        #(#variadics)*
        /// The most params one method may have.
        pub const MAX_PARAMS: usize = #MAX_PARAMS;
    })
}
