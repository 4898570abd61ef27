"""The author's check's defaults, apart from the check itself: the command line shows them without importing it."""

# Secret seeds for the notebook's solutions (enough for a threshold's worst and median to mean something),
# and how many of them the whole sample class is graded under (each is a full grading of every sample).
DEFAULT_SEEDS = 10
DEFAULT_CLASS_SEEDS = 3
