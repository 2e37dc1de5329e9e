"""The workshop: a live browser page for trainers, and animations for slides."""
