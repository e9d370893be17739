//! The generated `main`: the code a user would write by hand with `Runtime::from_env()`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::options::{Flavor, Options};
use crate::signature::{ContextParam, Shape};

/// `fn main` for `handler`, of the shape `shape`, configured by `options`.
pub(crate) fn main_fn(handler: &ItemFn, shape: &Shape, options: &Options) -> TokenStream {
    let builder = match options.flavor {
        Flavor::CurrentThread => quote!(new_current_thread),
        Flavor::MultiThread => quote!(new_multi_thread),
    };
    let init = options.init.as_ref().map(|setup| {
        quote! {
            let state = runtime
                .init(|| {
                    use ::lambda_kit::__private::{InitFromFuture as _, InitFromResult as _};
                    (&&::lambda_kit::__private::InitWrap::new(#setup())).take_init_future()
                })
                .await?;
        }
    });
    let layers = &options.layers;
    // Concurrent invocations share the state: say so at its type if it cannot be shared.
    let state_check = shape.state_type.as_ref().map(|ty| {
        quote_spanned! {ty.span()=>
            ::lambda_kit::__private::assert_shared_state::<#ty>();
        }
    });
    let service = if options.http {
        http_service(handler, shape)
    } else {
        event_service(handler, shape)
    };
    quote! {
        fn main() -> ::core::result::Result<(), ::lambda_kit::Error> {
            #state_check
            ::lambda_kit::tokio::runtime::Builder::#builder()
                .enable_all()
                .build()?
                .block_on(async {
                    let runtime = ::lambda_kit::Runtime::from_env()?;
                    #init
                    runtime
                        #(.layer(#layers))*
                        .run_concurrent(#service)
                        .await
                })
        }
    }
}

/// `handler_fn(|event, ctx| f(event, [ctx], [state]))`.
fn event_service(handler: &ItemFn, shape: &Shape) -> TokenStream {
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
    let call = call_converting_errors(handler, args);
    quote! {
        ::lambda_kit::handler_fn(move |event, #ctx_param: ::lambda_kit::Context| async move { #call })
    }
}

/// `http::service(service_fn(|request| f(request, [state])))`.
fn http_service(handler: &ItemFn, shape: &Shape) -> TokenStream {
    let state_arg = shape.takes_state.then(|| quote!(state));
    let args = std::iter::once(quote!(request)).chain(state_arg);
    let call = call_converting_errors(handler, args);
    quote! {
        ::lambda_kit::http::service(::lambda_kit::tower::service_fn(
            move |request: ::lambda_kit::__private::HttpRequest| async move { #call },
        ))
    }
}

/// `f(args).await`, with the error converted into `lambda_kit::Error` (through its
/// `Diagnostic` impl when it has one).
fn call_converting_errors(
    handler: &ItemFn,
    args: impl Iterator<Item = TokenStream>,
) -> TokenStream {
    let name = &handler.sig.ident;
    // Errors about the handler's error type point at its return type.
    let return_span = match &handler.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    };
    let convert_error = quote_spanned! {return_span=>
        (&&::lambda_kit::__private::ErrorWrap::new(error)).take_lambda_error()
    };
    quote! {
        #name(#(#args),*).await.map_err(|error| {
            use ::lambda_kit::__private::{ViaDiagnostic as _, ViaInto as _};
            #convert_error
        })
    }
}
