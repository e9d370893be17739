//! `#[lambda_kit::handler]`: turns an async fn into a Lambda function's `main`.
//!
//! Use it through the `lambda-kit` crate. Its reference (forms, options, testing, the
//! expansion as code, compile errors) is on `lambda_kit::handler`, where `cargo doc`
//! shows it whatever crates it documents; the code that expands is in `expand.rs`, the
//! signature rules in `signature.rs`, the options in `options.rs`.

mod expand;
mod options;
mod signature;

use proc_macro::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Item, ItemFn};

use options::Options;

/// The attribute; its reference is on `lambda_kit::handler`.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_tokens = proc_macro2::TokenStream::from(item.clone());
    match expand(args, item) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let error = error.to_compile_error();
            // An empty `main` keeps rustc from adding "`main` function not found" to the
            // one error that matters.
            quote!(#item_tokens #error fn main() {}).into()
        }
    }
}

fn expand(args: TokenStream, item: TokenStream) -> syn::Result<proc_macro2::TokenStream> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| options.parse_one(meta));
    syn::parse::Parser::parse(parser, args)?;
    let handler: ItemFn = match syn::parse::<Item>(item)? {
        Item::Fn(function) => function,
        other => {
            return Err(syn::Error::new(
                item_keyword_span(&other),
                "`#[lambda_kit::handler]` goes on an `async fn` that handles one event",
            ));
        }
    };
    if let (true, true) = (options.durable, options.http) {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`durable` and `http` do not go together: a durable function's event is the \
             durable-execution envelope; serve HTTP from another function",
        ));
    }
    if options.http {
        if let Some(builder) = signature::check_service_builder(&handler) {
            let builder = builder?;
            if let Some(init) = &options.init {
                return Err(syn::Error::new_spanned(
                    init,
                    "an `http` function without parameters builds its service itself, once \
                     per environment: build what `init` would build inside it",
                ));
            }
            let main = expand::service_builder_main(&handler, &builder, &options);
            return Ok(quote!(#handler #main));
        }
    }
    let shape = signature::check(&handler, options.init.is_some(), &options)?;
    if let (Some(init), false) = (&options.init, shape.takes_state) {
        return Err(syn::Error::new_spanned(
            init,
            "`init` builds a state, but the handler takes none: add a third parameter \
             `state: &State`",
        ));
    }
    let generated = expand::handler_and_main(&handler, &shape, &options);
    Ok(quote!(#handler #generated))
}

/// The span of the item's keyword (`struct`, `impl`, ...), or of the whole item.
fn item_keyword_span(item: &Item) -> proc_macro2::Span {
    match item {
        Item::Struct(item) => item.struct_token.span,
        Item::Enum(item) => item.enum_token.span,
        Item::Impl(item) => item.impl_token.span,
        Item::Const(item) => item.const_token.span,
        Item::Static(item) => item.static_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Trait(item) => item.trait_token.span,
        Item::Type(item) => item.type_token.span,
        other => other.span(),
    }
}
