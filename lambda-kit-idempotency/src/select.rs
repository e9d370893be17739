//! Choosing the part of an event that identifies it: the whole event, a JMESPath
//! expression, or a closure.

use std::fmt;
use std::sync::{Arc, LazyLock};

use jmespath::functions::{ArgumentType, CustomFunction, Signature};
use jmespath::{ErrorReason, Expression, JmespathError, Rcvar, Runtime, Variable};
use serde_json::Value;

use crate::python_json::exact_numbers;
use crate::text::HashedText;

/// The JMESPath runtime of lambda-kit's canonical keys: the standard functions plus
/// `powertools_json(value)`, which parses a string holding JSON (an API Gateway `body`, an
/// SQS `body`) so that the expression can select inside it, as Powertools for AWS Lambda
/// does.
static CANONICAL_RUNTIME: LazyLock<Runtime> = LazyLock::new(|| runtime(Variable::from_json));

/// The runtime of Powertools-compatible keys: `powertools_json` reads numbers as Python
/// does (integers beyond 64 bits exact).
static PYTHON_RUNTIME: LazyLock<Runtime> =
    LazyLock::new(|| runtime(|text| Variable::from_json(&exact_numbers(text))));

fn runtime(parse: fn(&str) -> Result<Variable, String>) -> Runtime {
    let mut runtime = Runtime::new();
    runtime.register_builtin_functions();
    runtime.register_function(
        "powertools_json",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String], None),
            Box::new(move |args: &[Rcvar], ctx: &mut jmespath::Context<'_>| {
                let text = args[0].as_string().map(String::as_str).unwrap_or_default();
                parse(text).map(Rcvar::new).map_err(|message| {
                    JmespathError::from_ctx(
                        ctx,
                        ErrorReason::Parse(format!("powertools_json: {message}")),
                    )
                })
            }),
        )),
    );
    runtime
}

type SelectFn = dyn Fn(&Value) -> Option<Value> + Send + Sync;

/// What part of the event (or of the data given to `run`) goes into a hash.
#[derive(Clone, Default)]
pub enum Selection {
    /// All of it.
    #[default]
    Whole,
    /// What a JMESPath expression selects.
    JmesPath(Arc<Expression<'static>>),
    /// What a closure returns; `None` means nothing was found.
    Closure(Arc<SelectFn>),
}

impl Selection {
    /// Compiles a JMESPath expression, such as `order_id`, `[customer, order_id]` or
    /// `powertools_json(body).order_id`.
    pub fn jmespath(expression: &str) -> Result<Self, JmespathError> {
        Self::jmespath_for(expression, HashedText::Canonical)
    }

    /// Compiles an expression whose `powertools_json` reads numbers as `text` needs.
    pub(crate) fn jmespath_for(expression: &str, text: HashedText) -> Result<Self, JmespathError> {
        let runtime = match text {
            HashedText::Canonical => &*CANONICAL_RUNTIME,
            HashedText::Python => &*PYTHON_RUNTIME,
        };
        runtime
            .compile(expression)
            .map(|compiled| Selection::JmesPath(Arc::new(compiled)))
    }

    /// Selects with a closure; return `None` when the data holds no key.
    pub fn closure<F>(select: F) -> Self
    where
        F: Fn(&Value) -> Option<Value> + Send + Sync + 'static,
    {
        Selection::Closure(Arc::new(select))
    }

    /// Applies the selection. `Ok(None)` means nothing was selected, as Powertools for
    /// Python decides it: null, the empty string, or a list or object holding only nulls
    /// (what `[a, b]` and `{a: a, b: b}` give when neither field exists). Numbers and
    /// booleans, zero and `false` included, are keys.
    pub fn select(&self, data: &Value) -> Result<Option<Value>, JmespathError> {
        Ok(self
            .select_as_is(data)?
            .filter(|value| !is_empty_selection(value)))
    }

    /// Applies the selection and keeps what it finds, empty or not; `None` only when a
    /// closure returns it.
    pub(crate) fn select_as_is(&self, data: &Value) -> Result<Option<Value>, JmespathError> {
        Ok(match self {
            Selection::Whole => Some(data.clone()),
            Selection::JmesPath(expression) => {
                let found = expression.search(data)?;
                // A Variable serializes to the JSON it holds.
                serde_json::to_value(&*found).ok()
            }
            Selection::Closure(select) => select(data),
        })
    }

    /// Names the selection in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Selection::Whole => "the whole event".to_owned(),
            Selection::JmesPath(expression) => format!("`{}`", expression.as_str()),
            Selection::Closure(_) => "the key closure".to_owned(),
        }
    }
}

impl fmt::Debug for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn is_empty_selection(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.iter().all(Value::is_null),
        Value::Object(map) => map.values().all(Value::is_null),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn select(expression: &str, data: Value) -> Option<Value> {
        Selection::jmespath(expression)
            .expect("expression compiles")
            .select(&data)
            .expect("search succeeds")
    }

    #[test]
    fn a_field_and_a_multiselect() {
        let event = json!({"order_id": "o-1", "customer": "c-9", "amount": 3});
        assert_eq!(select("order_id", event.clone()), Some(json!("o-1")));
        assert_eq!(
            select("[customer, order_id]", event),
            Some(json!(["c-9", "o-1"]))
        );
    }

    #[test]
    fn powertools_json_selects_inside_a_json_string_body() {
        let event = json!({"body": "{\"order_id\":\"o-2\",\"amount\":4}"});
        assert_eq!(
            select("powertools_json(body).order_id", event),
            Some(json!("o-2"))
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_an_error_not_a_key() {
        let selection = Selection::jmespath("powertools_json(body).order_id").expect("compiles");
        let error = selection
            .select(&json!({"body": "not json"}))
            .expect_err("unparsable body");
        assert!(error.to_string().contains("powertools_json"), "{error}");
    }

    #[test]
    fn nothing_found_is_none() {
        assert_eq!(select("order_id", json!({"other": 1})), None);
        assert_eq!(select("[a, b]", json!({"other": 1})), None);
        assert_eq!(select("{a: a, b: b}", json!({"other": 1})), None);
        assert_eq!(select("a", json!({"a": ""})), None);
        assert_eq!(select("a", json!({"a": 0})), Some(json!(0)));
        assert_eq!(select("a", json!({"a": false})), Some(json!(false)));
    }

    #[test]
    fn a_bad_expression_does_not_compile() {
        assert!(Selection::jmespath("order_id[").is_err());
    }
}
