//! Checking the handler's signature; each problem is reported at the token that causes it.

use syn::{FnArg, ItemFn, ReturnType, Type};

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
}

/// Checks `function` against the accepted forms:
/// `async fn f(event: E [, ctx: Context | &Context [, state: &S]]) -> Result<R, Err>`.
pub(crate) fn check(function: &ItemFn, has_init: bool, http: bool) -> syn::Result<Shape> {
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
    check_return_type(&signature.output, signature.ident.span())?;
    if http {
        return check_http(&params, has_init);
    }
    let context = match params.get(1) {
        None => ContextParam::Absent,
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
    })
}

/// `(request: http::Request<Body>)`, or `(request, state: &S)` with `init`: the context
/// travels in the request's extensions.
fn check_http(params: &[&FnArg], has_init: bool) -> syn::Result<Shape> {
    if let Some(extra) = params.get(2) {
        return Err(syn::Error::new_spanned(
            extra,
            "an HTTP handler takes the request, and with `init` the state: \
             `(request: http::Request<Body>, state: &State)`; the context is in the request's extensions",
        ));
    }
    let state_type = match params.get(1) {
        None => None,
        Some(param) => Some(check_state_param(param, has_init)?),
    };
    Ok(Shape {
        context: ContextParam::Absent,
        takes_state: state_type.is_some(),
        state_type,
    })
}

fn context_param(param: &FnArg) -> syn::Result<ContextParam> {
    let ty = param_type(param);
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

fn check_return_type(output: &ReturnType, name_span: proc_macro2::Span) -> syn::Result<()> {
    let message = "a handler returns `Result<Response, Error>`, where the response \
                   implements `serde::Serialize` (`()` is fine) and the error converts into \
                   `lambda_kit::Error`";
    match output {
        ReturnType::Default => Err(syn::Error::new(name_span, message)),
        ReturnType::Type(_, ty) => match last_segment_name(ty) {
            // Aliases such as `anyhow::Result<T>` or `MyResult<T>` are results too.
            Some(name) if name.ends_with("Result") => Ok(()),
            _ => Err(syn::Error::new_spanned(ty, message)),
        },
    }
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
