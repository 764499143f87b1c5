"""The only package that talks to AWS: client lifetime, rate limiting, retries, mapping, errors."""
