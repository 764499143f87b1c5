"""Reconciling: observe the fleet, plan, carry the plan out; the ports the service is reached through, the mutation gate, saved plans, locks, restart backoff, adoption."""
