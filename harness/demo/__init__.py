"""A simulated class to grade (``labctl demo-class``)."""
