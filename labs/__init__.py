"""The labs of the course, one package per scenario family (see each lab's README.md)."""
