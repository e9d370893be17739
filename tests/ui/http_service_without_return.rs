#[lambda_kit::handler(http)]
fn app() {}
