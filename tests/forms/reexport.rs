//! Option `crate = "..."`: lambda-kit reached through a re-export (as a company SDK that
//! wraps it would offer it), with no `lambda_kit` in scope.

mod sdk {
    pub(crate) use lambda_kit as kit;
}

use serde_json::{Value, json};

#[sdk::kit::handler(crate = "crate::sdk::kit")]
async fn echo(event: Value, ctx: &sdk::kit::Context) -> Result<Value, sdk::kit::Error> {
    Ok(json!({"event": event, "requestId": ctx.request_id()}))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[tokio::test]
    async fn the_generated_code_uses_the_re_exported_path() {
        let response = crate::sdk::kit::testing::invoke(super::echo_handler(), json!(1))
            .await
            .expect_response();
        assert_eq!(response["event"], 1);
    }
}
