"""The one description of the Rekognition stream-processor API that spd relies on.

Two halves, read by the spec language, the planner, the AWS edge and the emulator alike, so that they
cannot disagree:

- `spd.api.model` is generated from botocore's Rekognition service model (`python -m spd.api.generate`):
  every operation spd uses, its input and output shapes, and each shape's constraints (lengths,
  patterns, ranges, list sizes, enums, required members) and documented errors. A test regenerates it
  and fails on any difference, so a botocore upgrade that changes a constraint is seen, not absorbed.
- `spd.api.rules` is kept by hand: what the service enforces but the model does not say (the label
  enum, polygon sizes, the 0..1 coordinate rule, which settings go with which processor kind, the
  defaults the service applies, single-precision storage, HTTP statuses of the errors).

Neither half imports botocore at run time: the core stays pure, and `spd validate` stays fast.
"""
