//! The attribute's options: `init = path`, `shutdown = path`, `http` or `http(streaming)`,
//! `durable`, `sequential`, `flavor = "..."`, `layers = [expr, ...]`, `crate = "path"`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprArray, LitStr, Path};

/// The executor the generated `main` builds.
pub(crate) enum Flavor {
    /// One thread; no cross-thread wake-ups per invocation (the default).
    CurrentThread,
    /// tokio's multi-thread scheduler, for handlers that spawn CPU-heavy tasks.
    MultiThread,
}

/// What the attribute's arguments say.
pub(crate) struct Options {
    /// The function building the per-environment state.
    pub(crate) init: Option<Path>,
    /// The async fn run on shutdown (given the state, with `init`).
    pub(crate) shutdown: Option<Path>,
    /// The executor.
    pub(crate) flavor: Flavor,
    /// Tower layers, outermost first.
    pub(crate) layers: Vec<Expr>,
    /// The handler serves HTTP requests (`lambda_kit::http`).
    pub(crate) http: bool,
    /// With `http(streaming)`: the response body is streamed (`http::streaming_service`).
    pub(crate) streaming: bool,
    /// The handler is a durable execution's (`lambda_kit_durable`): it takes a
    /// `DurableContext`, and is served by `durable_fn` with checkpoints on Lambda.
    pub(crate) durable: bool,
    /// One invocation at a time whatever the environment allows, so that the handler's
    /// future need not be `Send`.
    pub(crate) sequential: bool,
    /// The path of lambda-kit in the user's crate: `::lambda_kit`, or what `crate = ".."`
    /// names when lambda-kit is reached through a re-export.
    pub(crate) krate: TokenStream,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            init: None,
            shutdown: None,
            flavor: Flavor::CurrentThread,
            layers: Vec::new(),
            http: false,
            streaming: false,
            durable: false,
            sequential: false,
            krate: quote!(::lambda_kit),
        }
    }
}

impl Options {
    /// Reads one `name = value` argument.
    pub(crate) fn parse_one(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("http") {
            self.http = true;
            if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|nested| {
                    if nested.path.is_ident("streaming") {
                        self.streaming = true;
                        Ok(())
                    } else {
                        Err(nested.error(
                            "unknown `http` option: expected `http(streaming)`, for a function \
                             URL or REST API that streams its responses",
                        ))
                    }
                })?;
            }
        } else if meta.path.is_ident("crate") {
            let path: LitStr = meta.value()?.parse()?;
            let path: Path = path.parse()?;
            self.krate = quote!(#path);
        } else if meta.path.is_ident("durable") {
            self.durable = true;
        } else if meta.path.is_ident("sequential") {
            self.sequential = true;
        } else if meta.path.is_ident("init") {
            self.init = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("shutdown") {
            self.shutdown = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("flavor") {
            let flavor: LitStr = meta.value()?.parse()?;
            self.flavor = match flavor.value().as_str() {
                "current_thread" => Flavor::CurrentThread,
                "multi_thread" => Flavor::MultiThread,
                _ => {
                    return Err(syn::Error::new(
                        flavor.span(),
                        "unknown flavor: expected \"current_thread\" (the default) or \"multi_thread\"",
                    ));
                }
            };
        } else if meta.path.is_ident("layers") {
            let layers: ExprArray = meta.value()?.parse()?;
            self.layers = layers.elems.into_iter().collect();
        } else {
            return Err(meta.error(
                "unknown option: expected `http`, `http(streaming)`, `durable`, `init = setup_fn`, `shutdown = cleanup_fn`, `sequential`, \
                 `flavor = \"multi_thread\"`, `layers = [layer, ...]` or `crate = \"path\"`",
            ));
        }
        Ok(())
    }
}
