"""Instructor reports: what a course's staff reads about a class, never shown to a student.

- `.normalize`: one solution cell as a sequence of tokens with names, comments, docstrings, formatting and
  literals normalised away (AST-based; a cell that does not parse falls back to its tokens, and says so);
- `.class_cells`: the solution cells of a class's submissions and of the release's starter code, read from an
  nbgrader course directory as the hostile input they are;
- `.similarity`: pairs of submissions whose solution cells are suspiciously alike, ranked, with the evidence;
- `.similarity_html`: that ranking as a self-contained HTML page, the two cells side by side;
- `.course_report`: what the course report says, from nbgrader's gradebook and the grading records, as plain
  dataclasses;
- `.plots`: its matplotlib PNGs (Agg), written beside the page;
- `.report_html`: the report as one self-contained page, refused inside the course's feedback/ or release/.

Nothing here writes into a student's feedback: the terminal and files the instructor names are its only outputs.
"""
