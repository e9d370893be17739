//! Idempotency middleware for lambda-kit handlers. It will hold a tower layer and a
//! function-level API that run a handler at most once per event key, with memory,
//! DynamoDB and Redis stores.
