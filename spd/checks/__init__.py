"""Checks before any change: preflight of referenced resources, IAM policies, role permissions."""
