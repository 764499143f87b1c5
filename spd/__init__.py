"""spd: keeps Amazon Rekognition Video stream processors exactly as their operators declared them."""

__version__ = "0.1.0"
