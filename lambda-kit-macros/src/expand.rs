//! The generated code: `main`, as a user would write it by hand with
//! `Runtime::from_env()`, and for the crate's tests `<name>_handler`, the same handler
//! service `main` serves.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::options::{Flavor, Options};
use crate::signature::{ContextParam, ServiceBuilder, Shape};

/// The name of the generated handler service for the fn `name`.
fn handler_fn_name(name: &Ident) -> Ident {
    format_ident!("{}_handler", name)
}

/// `fn main` for `handler`, and `fn <name>_handler([state])` for its tests.
pub(crate) fn handler_and_main(handler: &ItemFn, shape: &Shape, options: &Options) -> TokenStream {
    let krate = &options.krate;
    let init = options.init.as_ref().map(|setup| {
        let setup = init_future(quote!(#setup()), krate);
        quote! {
            let state = runtime.init(|| #setup).await?;
        }
    });
    // Concurrent invocations share the state: say so at its type if it cannot be shared.
    let state_check = match (&shape.state_type, options.sequential) {
        (Some(ty), false) => Some(quote_spanned! {ty.span()=>
            #krate::__private::assert_shared_state::<#ty>();
        }),
        _ => None,
    };
    let service = handler_service(handler, shape, options);
    // A durable handler checkpoints through the Lambda API, with the environment's
    // credentials and region (`lambda_kit_durable::aws`).
    let checkpoints = options.durable.then(|| {
        let checkpoints_type = durable_checkpoints_type();
        quote! {
            let checkpoints: #checkpoints_type = ::std::sync::Arc::new(
                ::lambda_kit_durable::aws::LambdaCheckpoints::from_env().await,
            );
        }
    });
    // `cleanup(state)` with init's state, `cleanup()` without.
    let shutdown = options.shutdown.as_ref().map(|cleanup| {
        let args = options.init.as_ref().map(|_| quote!(state));
        quote! {
            let runtime = runtime.on_shutdown(#cleanup(#args));
        }
    });
    let body = quote! {
        #state_check
        #init
        #shutdown
        #checkpoints
        let service = #service;
    };
    let types = if options.durable {
        LoopTypes {
            event: durable_input(),
            response: durable_output(),
            handler_span: handler.sig.ident.span(),
        }
    } else {
        event_loop_types(handler, shape, options)
    };
    let main = main_fn(options, body, &types);
    let for_tests = handler_fn_for_tests(handler, shape, &service, options);
    quote!(#main #for_tests)
}

/// The types an event or HTTP handler's loop serves.
fn event_loop_types(handler: &ItemFn, shape: &Shape, options: &Options) -> LoopTypes {
    let krate = &options.krate;
    LoopTypes {
        event: shape
            .event_type
            .as_ref()
            .map_or_else(|| http_event(krate), |ty| quote!(#ty)),
        response: match shape.event_type {
            Some(_) => {
                let ty = &shape.response_type;
                quote!(#ty)
            }
            None => http_response(options),
        },
        handler_span: handler.sig.ident.span(),
    }
}

/// `fn main` for an `http` fn without parameters, which returns the service to serve.
pub(crate) fn service_builder_main(
    builder_fn: &ItemFn,
    builder: &ServiceBuilder,
    options: &Options,
) -> TokenStream {
    let krate = &options.krate;
    let name = &builder_fn.sig.ident;
    let build = match (builder.fallible, builder.is_async) {
        (true, _) => init_future(quote!(#name()), krate),
        (false, true) => quote! {
            async { ::core::result::Result::<_, #krate::Error>::Ok(#name().await) }
        },
        (false, false) => quote! {
            async { ::core::result::Result::<_, #krate::Error>::Ok(#name()) }
        },
    };
    let adapter = http_adapter(options);
    let body = quote! {
        let built = runtime.init(|| #build).await?;
        let service = #adapter(::core::clone::Clone::clone(built));
    };
    let types = LoopTypes {
        event: http_event(krate),
        response: http_response(options),
        handler_span: name.span(),
    };
    main_fn(options, body, &types)
}

/// The future `Runtime::init` awaits for `call`, the call of an init fn that returns a
/// `Result` or a future of one (the macro cannot tell which; the dispatch picks).
fn init_future(call: TokenStream, krate: &TokenStream) -> TokenStream {
    quote! {{
        use #krate::__private::{InitFromFuture as _, InitFromResult as _};
        (&&#krate::__private::InitWrap::new(#call)).take_init_future()
    }}
}

/// The types the loop serves, named in `main` where a problem with them is reported.
struct LoopTypes {
    /// The event type, spanned at the user's token.
    event: TokenStream,
    /// The response type, spanned at the user's token.
    response: TokenStream,
    /// Where a handler future that is not `Send` is reported.
    handler_span: proc_macro2::Span,
}

fn http_event(krate: &TokenStream) -> TokenStream {
    quote!(#krate::http::HttpEvent)
}

/// The fn that makes the HTTP service a handler, and what that handler answers:
/// `http::service` and the buffered response, or with `http(streaming)`
/// `http::streaming_service` and a stream.
fn http_adapter_and_response(options: &Options) -> (TokenStream, TokenStream) {
    let krate = &options.krate;
    if options.streaming {
        (
            quote!(#krate::http::streaming_service),
            quote!(#krate::http::HttpAnswer),
        )
    } else {
        (
            quote!(#krate::http::service),
            quote!(#krate::http::HttpResponse),
        )
    }
}

/// What the HTTP adapter answers.
fn http_response(options: &Options) -> TokenStream {
    http_adapter_and_response(options).1
}

/// The fn that makes the HTTP service a handler.
fn http_adapter(options: &Options) -> TokenStream {
    http_adapter_and_response(options).0
}

/// `fn main`: the executor, the runtime, `body` (which binds `runtime` and `service`),
/// the layers, and the loop.
fn main_fn(options: &Options, body: TokenStream, types: &LoopTypes) -> TokenStream {
    let krate = &options.krate;
    let builder = match options.flavor {
        Flavor::CurrentThread => quote!(new_current_thread),
        Flavor::MultiThread => quote!(new_multi_thread),
    };
    let layers = &options.layers;
    let run = if options.sequential {
        quote!(run)
    } else {
        quote!(run_concurrent)
    };
    let (event, response) = (&types.event, &types.response);
    let run = quote_spanned! {types.handler_span=>
        #krate::__private::#run::<#event, #response, _, _>
    };
    quote! {
        fn main() -> #krate::Exit {
            let served = #krate::tokio::runtime::Builder::#builder()
                .enable_all()
                .build()
                .map_err(#krate::Error::from)
                .and_then(|executor| {
                    executor.block_on(async {
                        let runtime = #krate::Runtime::from_env()?;
                        #body
                        #run(runtime #(.layer(#layers))*, service).await
                    })
                });
            #krate::Exit::from(served)
        }
    }
}

/// The handler as the runtime calls it: a `handler_fn` for an event handler, an
/// `http::service` (or `http::streaming_service`) for an HTTP one.
fn handler_service(handler: &ItemFn, shape: &Shape, options: &Options) -> TokenStream {
    if options.durable {
        return durable_service(handler, shape);
    }
    match shape.event_type {
        Some(_) => event_service(handler, shape, &options.krate),
        None => http_service(handler, shape, options),
    }
}

/// `fn <name>_handler([state: &'static S]) -> impl Service<...>`, compiled for the
/// crate's tests only: the same service `main` serves, for `lambda_kit::testing::invoke`.
/// Tests need no `Send`, so it asks for none (and a `Send` problem is reported once, by
/// `main`).
fn handler_fn_for_tests(
    handler: &ItemFn,
    shape: &Shape,
    service: &TokenStream,
    options: &Options,
) -> TokenStream {
    let krate = &options.krate;
    let vis = &handler.vis;
    let name = handler_fn_name(&handler.sig.ident);
    let checkpoints_param = options.durable.then(|| {
        let checkpoints_type = durable_checkpoints_type();
        quote!(checkpoints: #checkpoints_type,)
    });
    let state_param = shape
        .state_type
        .as_ref()
        .map(|ty| quote!(state: &'static #ty));
    let response = &shape.response_type;
    let doc = format!(
        "The Lambda handler of [`{}`], as `main` serves it, for tests: \
         `lambda_kit::testing::invoke({name}(..), event)`. Generated by \
         `#[lambda_kit::handler]` in test builds.",
        handler.sig.ident
    );
    let http_service_type = if options.streaming {
        quote!(HttpStreamingService)
    } else {
        quote!(HttpService)
    };
    let returns = match &shape.event_type {
        Some(_) if options.durable => {
            let (input, output) = (durable_input(), durable_output());
            quote! {
                impl #krate::tower::Service<
                    #krate::LambdaEvent<#input>,
                    Response = #output,
                    Error = #krate::Error,
                > + ::core::clone::Clone
            }
        }
        Some(event) => quote! {
            impl #krate::tower::Service<
                #krate::LambdaEvent<#event>,
                Response = #response,
                Error = #krate::Error,
            > + ::core::clone::Clone
        },
        None => quote! {
            #krate::http::#http_service_type<
                impl #krate::tower::Service<
                    #krate::__private::HttpRequest,
                    Response = #response,
                    Error = #krate::Error,
                    Future: ::core::marker::Send + 'static,
                > + ::core::clone::Clone,
            >
        },
    };
    quote! {
        #[cfg(test)]
        #[allow(dead_code)]
        #[doc = #doc]
        #vis fn #name(#checkpoints_param #state_param) -> #returns {
            #service
        }
    }
}

/// `handler_fn(|event, ctx| f(event, [ctx], [state]))`.
fn event_service(handler: &ItemFn, shape: &Shape, krate: &TokenStream) -> TokenStream {
    // An unused closure parameter would warn in the user's crate; name it `_ctx` then.
    let (ctx_param, ctx_arg) = match shape.context {
        ContextParam::Absent => (quote!(_ctx), None),
        ContextParam::Owned => (quote!(ctx), Some(quote!(ctx))),
        ContextParam::Borrowed => (quote!(ctx), Some(quote!(&ctx))),
    };
    let state_arg = shape.takes_state.then(|| quote!(state));
    let args = std::iter::once(quote!(event))
        .chain(ctx_arg)
        .chain(state_arg);
    let call = call_converting_errors(handler, args, krate);
    let event = &shape.event_type;
    quote! {
        #krate::handler_fn(move |event: #event, #ctx_param: #krate::Context| async move { #call })
    }
}

/// The event a durable handler's loop serves: the durable-execution envelope.
fn durable_input() -> TokenStream {
    quote!(::lambda_kit_durable::protocol::InvocationInput)
}

/// What a durable handler's loop answers.
fn durable_output() -> TokenStream {
    quote!(::lambda_kit_durable::protocol::InvocationOutput)
}

/// The checkpoint service a durable handler is given.
fn durable_checkpoints_type() -> TokenStream {
    quote!(::std::sync::Arc<dyn ::lambda_kit_durable::service::CheckpointService>)
}

/// `durable_fn(checkpoints, |event, ctx| f(event, ctx, [state]))`: the durable envelope in,
/// the durable answer out; `checkpoints` is bound before.
fn durable_service(handler: &ItemFn, shape: &Shape) -> TokenStream {
    let name = &handler.sig.ident;
    let state_arg = shape.takes_state.then(|| quote!(state));
    let args = [quote!(event), quote!(ctx)].into_iter().chain(state_arg);
    let event = &shape.event_type;
    quote! {
        ::lambda_kit_durable::durable_fn(
            checkpoints,
            move |event: #event, ctx: ::lambda_kit_durable::DurableContext| #name(#(#args),*),
        )
    }
}

/// `http::service(service_fn(|request| f(request, [state])))` (`streaming_service` with
/// `http(streaming)`).
fn http_service(handler: &ItemFn, shape: &Shape, options: &Options) -> TokenStream {
    let krate = &options.krate;
    let adapter = http_adapter(options);
    let state_arg = shape.takes_state.then(|| quote!(state));
    let args = std::iter::once(quote!(request)).chain(state_arg);
    let call = call_converting_errors(handler, args, krate);
    quote! {
        #adapter(#krate::tower::service_fn(
            move |request: #krate::__private::HttpRequest| async move { #call },
        ))
    }
}

/// `f(args).await`, with the error converted into `lambda_kit::Error` (through its
/// `Diagnostic` impl when it has one).
fn call_converting_errors(
    handler: &ItemFn,
    args: impl Iterator<Item = TokenStream>,
    krate: &TokenStream,
) -> TokenStream {
    let name = &handler.sig.ident;
    // Errors about the handler's error type point at its return type.
    let return_span = match &handler.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    };
    // The path too carries the span: an error is reported at the first token's span.
    let at_return = respanned(krate, return_span);
    let convert_error = quote_spanned! {return_span=>
        (&&#at_return::__private::ErrorWrap::new(error)).take_lambda_error()
    };
    quote! {
        #name(#(#args),*).await.map_err(|error| {
            use #krate::__private::{ViaDiagnostic as _, ViaInto as _};
            #convert_error
        })
    }
}

/// `tokens` with every token at `span`.
fn respanned(tokens: &TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}
