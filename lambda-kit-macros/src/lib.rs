//! `#[lambda_kit::handler]`: turns an async fn into a Lambda function's `main`.
//!
//! Use it through the `lambda-kit` crate (`#[lambda_kit::handler]`). The annotated function
//! is kept as written, so tests call it directly; the macro adds a `main` next to it.
//!
//! # Forms
//!
//! ```text
//! #[lambda_kit::handler]
//! async fn f(event: E) -> Result<R, Err>
//! async fn f(event: E, ctx: Context) -> Result<R, Err>
//! async fn f(event: E, ctx: &Context) -> Result<R, Err>
//!
//! #[lambda_kit::handler(init = setup)]
//! async fn f(event: E, ctx: &Context, state: &S) -> Result<R, Err>
//! ```
//!
//! `E` is any `serde::de::DeserializeOwned` type, `R` any `serde::Serialize` type (also
//! `()`), and `Err` anything `lambda_kit::Error` converts from. An `Err` type that
//! implements `lambda_kit::Diagnostic` reports the errorType its impl chooses.
//!
//! `setup` is an `async fn setup() -> Result<S, E>` or a plain `fn setup() -> Result<S, E>`.
//! It runs once per execution environment, after logging is set up and before the first
//! poll. Its error is posted to `/runtime/init/error` and the process exits non-zero
//! without polling. The state is shared by reference with every invocation.
//!
//! # Options
//!
//! - `http`: the fn serves HTTP (API Gateway, ALB, function URLs):
//!   `async fn f(request: http::Request<lambda_kit::http::Body>) -> Result<http::Response<B>, E>`,
//!   with `state: &S` as a second parameter when there is an `init`. The invocation's
//!   `Context` is in the request's extensions. Expands to
//!   `run_concurrent(lambda_kit::http::service(tower::service_fn(...)))`.
//! - `init = path`: the function that builds the state.
//! - `flavor = "multi_thread"`: use tokio's multi-thread scheduler. The default,
//!   `"current_thread"`, costs no cross-thread wake-ups per invocation.
//! - `layers = [layer, ...]`: tower layers around the handler, outermost first. The
//!   expressions are evaluated in `main`, after init.
//!
//! # Expansion
//!
//! ```text
//! #[lambda_kit::handler(init = setup, layers = [MyLayer::new()])]
//! async fn hello(event: Request, ctx: &Context, state: &State) -> Result<Response, MyError> { ... }
//! ```
//!
//! keeps `hello` and adds:
//!
//! ```text
//! fn main() -> Result<(), lambda_kit::Error> {
//!     lambda_kit::tokio::runtime::Builder::new_current_thread()
//!         .enable_all()
//!         .build()?
//!         .block_on(async {
//!             let runtime = lambda_kit::Runtime::from_env()?;
//!             let state = runtime.init(setup).await?;      // `|| async { setup() }` for a plain fn
//!             runtime
//!                 .layer(MyLayer::new())
//!                 .run_concurrent(lambda_kit::handler_fn(move |event, ctx: lambda_kit::Context| async move {
//!                     hello(event, &ctx, state).await.map_err(take_lambda_error)
//!                 }))
//!                 .await
//!         })
//! }
//! ```
//!
//! `run_concurrent` serves one invocation at a time unless Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1. So the handler's future must be `Send`, and the
//! state `Send + Sync`; a state that is not gets a compile error at its type.
//!
//! By hand, `take_lambda_error` is `lambda_kit::Error::from_diagnostic` for a `Diagnostic`
//! error type and `Into::into` otherwise. The macro picks between them for you.
//! `Runtime::from_env` also handles the command line outside Lambda (`--event`).
//!
//! # Compile errors
//!
//! A signature the runtime cannot drive is rejected at the offending token, with the form
//! that would work. The cases are:
//! - a non-async fn;
//! - no parameters, or more than three;
//! - a context of another type;
//! - a third parameter without `init`, or `init` without a third parameter;
//! - generics or `self`;
//! - a return type that is not a `Result`;
//! - use on anything but a fn.

mod expand;
mod options;
mod signature;

use proc_macro::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Item, ItemFn};

use options::Options;

/// Makes an async fn the Lambda function of this binary by generating `main`; see the
/// crate documentation for the accepted forms and the expansion.
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
    let shape = signature::check(&handler, options.init.is_some(), options.http)?;
    if let (Some(init), false) = (&options.init, shape.takes_state) {
        return Err(syn::Error::new_spanned(
            init,
            "`init` builds a state, but the handler takes none: add a third parameter \
             `state: &State`",
        ));
    }
    let main = expand::main_fn(&handler, &shape, &options);
    Ok(quote!(#handler #main))
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
