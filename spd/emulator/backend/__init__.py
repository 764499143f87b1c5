"""The emulator's backend: the service's behaviour, its state, timers, faults, validation, IAM and CloudTrail."""
