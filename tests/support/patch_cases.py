"""Before/after texts that prtrace.patches must turn into patches and back: the unit
tests apply them with prtrace.patches, the integration tests with ``git apply``."""

CASES = [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\nc", "a\nb\nc\n"),  # newline added at the end
    ("a\nb\nc\n", "a\nb\nc"),  # newline removed at the end
    ("", "new file\n"),
    ("gone\n", ""),
    ("x\r\ny\r\n", "x\r\nz\r\n"),  # CRLF lines stay CRLF
    (
        "\n".join(f"line {i}" for i in range(40)) + "\n",
        "\n".join(f"line {i}" if i not in (3, 30) else f"changed {i}" for i in range(40)) + "\n",
    ),  # two hunks
    ("only\n", "only\n\n\n"),  # blank lines added
]
