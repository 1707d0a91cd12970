"""Finding and cropping the hand or body, and mapping predictions back."""
