"""Glue to moto: every name taken from it, deliveries to its SNS/S3/EventBridge, the `--local` sandbox's resources."""
