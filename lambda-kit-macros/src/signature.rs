//! Checking the handler's signature; each problem is reported at the token that causes it.

use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::options::Options;

/// How the handler takes its context.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextParam {
    /// No context parameter.
    Absent,
    /// `ctx: Context`.
    Owned,
    /// `ctx: &Context`.
    Borrowed,
}

/// The accepted shape of a handler.
pub(crate) struct Shape {
    /// How the context is taken.
    pub(crate) context: ContextParam,
    /// Whether a third parameter takes the init state by reference.
    pub(crate) takes_state: bool,
    /// The state's type (`S` of `state: &S`).
    pub(crate) state_type: Option<Type>,
    /// The event's type (`E` of `event: E`); `None` for an HTTP handler.
    pub(crate) event_type: Option<Type>,
    /// The response's type (`R` of `Result<R, Err>`).
    pub(crate) response_type: Type,
}

/// An HTTP function given as the service it serves: `#[handler(http)] fn app() -> Router`.
pub(crate) struct ServiceBuilder {
    /// `async fn app()`: the service comes from a future.
    pub(crate) is_async: bool,
    /// `-> Result<Router, E>`: building it can fail (an init error).
    pub(crate) fallible: bool,
}

/// An `http` function without parameters builds the service once per environment.
pub(crate) fn check_service_builder(function: &ItemFn) -> Option<syn::Result<ServiceBuilder>> {
    let signature = &function.sig;
    if !signature.inputs.is_empty() {
        return None;
    }
    let result = match &signature.output {
        ReturnType::Default => Err(syn::Error::new(
            signature.ident.span(),
            "an `http` function without parameters returns the service to serve, such as an \
             `axum::Router` (or `Result<Router, Error>`): add the return type",
        )),
        ReturnType::Type(_, ty) => Ok(ServiceBuilder {
            is_async: signature.asyncness.is_some(),
            fallible: names_result(ty),
        }),
    };
    Some(result)
}

/// Checks `function` against the accepted forms:
/// `async fn f(event: E [, ctx: Context | &Context [, state: &S]]) -> Result<R, Err>`, and
/// with `durable`, `async fn f(event: E, ctx: DurableContext [, state: &S])`.
pub(crate) fn check(function: &ItemFn, has_init: bool, options: &Options) -> syn::Result<Shape> {
    let http = options.http;
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        return Err(syn::Error::new(
            signature.fn_token.span,
            "a handler must be an `async fn`: write `async fn` here",
        ));
    }
    if let Some(param) = signature.generics.params.first() {
        return Err(syn::Error::new_spanned(
            param,
            "a handler cannot be generic: the event and response types must be concrete \
             so that the runtime knows how to decode and encode them",
        ));
    }
    if let Some(clause) = &signature.generics.where_clause {
        return Err(syn::Error::new_spanned(
            clause,
            "a handler cannot have a `where` clause",
        ));
    }
    if let Some(variadic) = &signature.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "a handler cannot be variadic",
        ));
    }
    let params: Vec<&FnArg> = signature.inputs.iter().collect();
    for param in &params {
        if let FnArg::Receiver(receiver) = param {
            return Err(syn::Error::new_spanned(
                receiver,
                "a handler is a free function, not a method: remove `self`",
            ));
        }
    }
    if params.is_empty() {
        return Err(syn::Error::new(
            signature.paren_token.span.join(),
            "a handler takes the event as its first parameter: `(event: MyEvent)`, \
             optionally followed by `ctx: Context` or `ctx: &Context`",
        ));
    }
    if let Some(extra) = params.get(3) {
        return Err(syn::Error::new_spanned(
            extra,
            "a handler takes at most three parameters: `(event, ctx: &Context, state: &State)`",
        ));
    }
    let response_type = check_return_type(&signature.output, signature.ident.span())?;
    if http {
        return check_http(&params, has_init, response_type);
    }
    check_event_param(params[0])?;
    let context = match params.get(1) {
        None if options.durable => {
            return Err(syn::Error::new(
                signature.paren_token.span.join(),
                "a durable handler takes the event and the durable context: \
                 `(event: MyEvent, ctx: DurableContext)`",
            ));
        }
        None => ContextParam::Absent,
        Some(param) if options.durable => durable_context_param(param)?,
        Some(param) => context_param(param)?,
    };
    let state_type = match params.get(2) {
        None => None,
        Some(param) => Some(check_state_param(param, has_init)?),
    };
    Ok(Shape {
        context,
        takes_state: state_type.is_some(),
        state_type,
        event_type: Some(param_type(params[0]).clone()),
        response_type,
    })
}

/// `(request: http::Request<Body>)`, or `(request, state: &S)` with `init`: the context
/// travels in the request's extensions.
fn check_http(params: &[&FnArg], has_init: bool, response_type: Type) -> syn::Result<Shape> {
    if let Some(extra) = params.get(2) {
        return Err(syn::Error::new_spanned(
            extra,
            "an HTTP handler takes the request, and with `init` the state: \
             `(request: http::Request<Body>, state: &State)`; the context is in the request's extensions",
        ));
    }
    let state_type = match params.get(1) {
        None => None,
        Some(param) if names_context(strip_reference(param_type(param))) => {
            return Err(syn::Error::new_spanned(
                param,
                "an HTTP handler finds the invocation's context in the request's extensions, \
                 not in a parameter: remove it and use \
                 `request.extensions().get::<lambda_kit::Context>()`",
            ));
        }
        Some(param) => Some(check_state_param(param, has_init)?),
    };
    Ok(Shape {
        context: ContextParam::Absent,
        takes_state: state_type.is_some(),
        state_type,
        event_type: None,
        response_type,
    })
}

/// `T` for `&T` or `&mut T`, else the type itself.
fn strip_reference(ty: &Type) -> &Type {
    match ty {
        Type::Reference(reference) => &reference.elem,
        other => other,
    }
}

/// The habits of other runtimes: the event wrapped in `LambdaEvent`, an HTTP request
/// without the `http` option.
fn check_event_param(param: &FnArg) -> syn::Result<()> {
    let ty = param_type(param);
    let generic = has_type_arguments(ty);
    match last_segment_name(ty).as_deref() {
        Some("LambdaEvent") => Err(syn::Error::new_spanned(
            ty,
            "the handler takes the event itself, not a `LambdaEvent`: write `event: MyEvent`, \
             and `ctx: Context` as the second parameter for the context",
        )),
        Some("Request") if generic => Err(syn::Error::new_spanned(
            ty,
            "an HTTP request needs the `http` option: `#[lambda_kit::handler(http)]` (and the \
             `http` feature of lambda-kit)",
        )),
        _ => Ok(()),
    }
}

fn context_param(param: &FnArg) -> syn::Result<ContextParam> {
    let ty = param_type(param);
    if names_task_context(strip_reference(ty)) {
        return Err(syn::Error::new_spanned(
            ty,
            "this is `std::task::Context`, the waker of a future's poll; the invocation's \
             context is `lambda_kit::Context`: `ctx: lambda_kit::Context` or \
             `ctx: &lambda_kit::Context`",
        ));
    }
    let expected = "the second parameter is the invocation's context: \
                    `ctx: Context` or `ctx: &Context`";
    match ty {
        Type::Reference(reference)
            if reference.mutability.is_none() && names_context(&reference.elem) =>
        {
            Ok(ContextParam::Borrowed)
        }
        Type::Reference(reference) if reference.mutability.is_some() => {
            Err(syn::Error::new_spanned(
                reference,
                "the context is shared, not mutable: take `ctx: &Context` or `ctx: Context`",
            ))
        }
        ty if names_context(ty) => Ok(ContextParam::Owned),
        ty => Err(syn::Error::new_spanned(ty, expected)),
    }
}

/// A durable handler's context: `ctx: DurableContext`, owned (it is cheap to clone and
/// outlives the handler's borrows).
fn durable_context_param(param: &FnArg) -> syn::Result<ContextParam> {
    let ty = param_type(param);
    match ty {
        Type::Reference(reference) if names_durable_context(&reference.elem) => {
            Err(syn::Error::new_spanned(
                reference,
                "take the durable context by value: `ctx: DurableContext` (it is cheap to clone)",
            ))
        }
        ty if names_durable_context(ty) => Ok(ContextParam::Owned),
        ty => Err(syn::Error::new_spanned(
            ty,
            "a durable handler's second parameter is its durable context: \
             `ctx: lambda_kit_durable::DurableContext` (the invocation's `Context` is not \
             given to durable handlers)",
        )),
    }
}

fn names_durable_context(ty: &Type) -> bool {
    last_segment_name(ty).is_some_and(|name| name == "DurableContext")
}

/// The state's type, once the parameter is known to borrow it.
fn check_state_param(param: &FnArg, has_init: bool) -> syn::Result<Type> {
    if !has_init {
        return Err(syn::Error::new_spanned(
            param,
            "a third parameter takes the state built once per environment; name the function \
             that builds it: `#[lambda_kit::handler(init = setup)]`",
        ));
    }
    match param_type(param) {
        Type::Reference(reference) if reference.mutability.is_none() => {
            Ok((*reference.elem).clone())
        }
        ty => Err(syn::Error::new_spanned(
            ty,
            "the state is shared by every invocation: take it by shared reference, `state: &State`",
        )),
    }
}

/// The response type `R` of a `Result<R, Err>` return type.
fn check_return_type(output: &ReturnType, name_span: proc_macro2::Span) -> syn::Result<Type> {
    let message = "a handler returns `Result<Response, Error>`, where the response \
                   implements `serde::Serialize` (`()` is fine) and the error converts into \
                   `lambda_kit::Error`";
    let ty = match output {
        ReturnType::Default => return Err(syn::Error::new(name_span, message)),
        ReturnType::Type(_, ty) => ty,
    };
    if !names_result(ty) {
        return Err(syn::Error::new_spanned(ty, message));
    }
    first_type_argument(ty).ok_or_else(|| {
        syn::Error::new_spanned(
            ty,
            "name the response type here: `Result<Response, Error>` (an alias without \
             parameters hides it from the macro)",
        )
    })
}

/// Whether `ty` is a `Result`; aliases such as `anyhow::Result<T>` or `MyResult<T>` are
/// results too.
fn names_result(ty: &Type) -> bool {
    last_segment_name(ty).is_some_and(|name| name.ends_with("Result"))
}

/// `R` of `Result<R, ..>`.
fn first_type_argument(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    })
}

fn param_type(param: &FnArg) -> &Type {
    match param {
        FnArg::Typed(typed) => &typed.ty,
        // Receivers were rejected before any parameter type is read.
        FnArg::Receiver(receiver) => &receiver.ty,
    }
}

fn names_context(ty: &Type) -> bool {
    last_segment_name(ty).is_some_and(|name| name == "Context")
}

/// `std::task::Context<'_>`, `task::Context`, or a `Context` with a lifetime: not
/// lambda-kit's, which has no parameters.
fn names_task_context(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    names_context(ty)
        && (path
            .path
            .segments
            .iter()
            .any(|segment| segment.ident == "task")
            || has_type_or_lifetime_arguments(ty))
}

/// Whether the last segment has `<...>` with a type in it.
fn has_type_arguments(ty: &Type) -> bool {
    first_type_argument(ty).is_some()
}

/// Whether the last segment has `<...>` at all.
fn has_type_or_lifetime_arguments(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.path
        .segments
        .last()
        .is_some_and(|segment| matches!(segment.arguments, PathArguments::AngleBracketed(_)))
}

fn last_segment_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string()),
        Type::Paren(inner) => last_segment_name(&inner.elem),
        Type::Group(inner) => last_segment_name(&inner.elem),
        _ => None,
    }
}
