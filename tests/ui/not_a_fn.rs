#[lambda_kit::handler]
struct Hello {
    name: String,
}
