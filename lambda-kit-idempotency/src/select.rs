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
    JmesPath(Arc<JmesPathSelection>),
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
        let compiled = runtime.compile(expression)?;
        Ok(Selection::JmesPath(Arc::new(JmesPathSelection {
            fields: field_path(expression),
            expression: compiled,
        })))
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
            Selection::JmesPath(selection) => Some(selection.search(data)?),
            Selection::Closure(select) => select(data),
        })
    }

    /// Names the selection in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Selection::Whole => "the whole event".to_owned(),
            Selection::JmesPath(selection) => format!("`{}`", selection.expression.as_str()),
            Selection::Closure(_) => "the key closure".to_owned(),
        }
    }
}

impl fmt::Debug for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A compiled JMESPath expression and, when it is a plain path of field names (`order_id`,
/// `a.b.c`), those names.
///
/// A plain path is applied to the event as it is: JMESPath itself would first convert the
/// whole event into its own values (every header, the whole request context) to read one
/// field. The two agree on every input (a unit test checks them against each other): a
/// field of something that is not an object, or that is missing, is null.
pub struct JmesPathSelection {
    expression: Expression<'static>,
    fields: Option<Vec<String>>,
}

impl JmesPathSelection {
    /// The compiled expression.
    pub fn expression(&self) -> &Expression<'static> {
        &self.expression
    }

    fn search(&self, data: &Value) -> Result<Value, JmespathError> {
        match &self.fields {
            Some(fields) => Ok(fields
                .iter()
                .try_fold(data, |value, field| value.get(field))
                .cloned()
                .unwrap_or(Value::Null)),
            // A Variable serializes to the JSON it holds.
            None => Ok(serde_json::to_value(&*self.expression.search(data)?).unwrap_or_default()),
        }
    }
}

impl fmt::Debug for JmesPathSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JmesPathSelection({:?})", self.expression.as_str())
    }
}

/// The field names of `expression` if it is a plain path of unquoted identifiers
/// (`[A-Za-z_][A-Za-z0-9_]*`, joined by `.`, no spaces); anything else is left to JMESPath.
fn field_path(expression: &str) -> Option<Vec<String>> {
    let is_identifier = |name: &str| {
        let mut bytes = name.bytes();
        bytes
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
            && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    };
    expression
        .split('.')
        .map(|name| is_identifier(name).then(|| name.to_owned()))
        .collect()
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
    fn plain_paths_select_what_jmespath_selects() {
        let events = [
            json!({"order_id": "o-1", "a": {"b": {"c": [1, 2.5, null]}, "n": null}}),
            json!({"a": [{"b": 1}], "order_id": 18446744073709551615_u64}),
            json!({"a": "text", "order_id": {"nested": {"deep": true}}}),
            json!([1, 2]),
            json!("just a string"),
            json!(null),
        ];
        for expression in [
            "order_id",
            "a",
            "a.b",
            "a.b.c",
            "a.n",
            "a.b.missing",
            "_x",
            "A9",
        ] {
            let fast = match Selection::jmespath(expression).expect("compiles") {
                Selection::JmesPath(selection) => selection,
                other => panic!("{other:?}"),
            };
            assert!(fast.fields.is_some(), "{expression} is a plain path");
            for event in &events {
                let slow = serde_json::to_value(&*fast.expression.search(event).expect("search"))
                    .expect("a variable is JSON");
                assert_eq!(
                    fast.search(event).expect("search"),
                    slow,
                    "{expression} on {event}"
                );
            }
        }
    }

    #[test]
    fn only_plain_unquoted_paths_take_the_short_way() {
        for expression in [
            "a[0]",
            "a . b",
            "\"a-b\"",
            "[a, b]",
            "powertools_json(body).id",
            "a.*",
            "9a",
        ] {
            if let Ok(Selection::JmesPath(selection)) = Selection::jmespath(expression) {
                assert!(selection.fields.is_none(), "{expression}");
            }
        }
    }

    #[test]
    fn a_bad_expression_does_not_compile() {
        assert!(Selection::jmespath("order_id[").is_err());
    }
}
