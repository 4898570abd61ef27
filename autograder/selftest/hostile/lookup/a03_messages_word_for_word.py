"""Look the hidden messages up, word for word, in any labelled text readable in the sandbox (a03).

Its spam filter learns nothing: it walks ~/data, the venv's site-packages (scikit-learn's bundled data sets
included), /usr/share and /var, collects every line pairing a text with a spam/ham label and predicts the label
found for a message, or ham. Contained: no hidden message is readable anywhere, so it predicts ham for all of
them and the filter cell scores 0 with the reason.

sample: a03_binary_classification/kai
reason: predicted ham|accuracy|sensitivity|did not return within
"""
