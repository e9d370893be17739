// The Node.js contender of the end-to-end benchmark: the README's hello, as a Node.js
// function run by AWS's runtime interface client (aws-lambda-ric).
export const handler = async (event) => ({
  message: `Hello, ${event.name || "world"}!`,
});
