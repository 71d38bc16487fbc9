"""PEM private keys (across lines, on one line, or a tail that starts inside one), cookies and session ids are
redacted from log text (issue 27)."""

from __future__ import annotations

from kubewhy.redact import REDACTED, clean_log_lines, redact_log

BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"


def test_a_key_across_lines_is_redacted_to_its_end_and_the_rest_kept() -> None:
    text = f"boot\n-----BEGIN PRIVATE KEY-----\n{BODY}\nQkZ9\n-----END PRIVATE KEY-----\nlistening on :8080\n"
    out = redact_log(text)
    assert BODY not in out and "QkZ9" not in out
    assert out.splitlines()[0] == "boot" and out.splitlines()[-1] == "listening on :8080"
    assert out.count("\n") == text.count("\n")  # line breaks kept


def test_a_key_on_one_line_and_a_tail_starting_inside_a_key() -> None:
    one = f'{{"tls_key": "-----BEGIN EC PRIVATE KEY-----\\n{BODY}\\n-----END EC PRIVATE KEY-----\\n"}}'
    assert BODY not in redact_log(one)
    assert clean_log_lines(f"{BODY}\n-----END RSA PRIVATE KEY-----\nok") == [
        REDACTED,
        "-----END RSA PRIVATE KEY-----",
        "ok",
    ]


def test_cookies_and_session_ids_lose_their_values() -> None:
    lines = clean_log_lines(
        "Cookie: theme=dark; sessionid=abc123xyz\n"
        "set-cookie: PHPSESSID=9f8e7d6c; HttpOnly\n"
        '{"session_id": "s-0001-secret", "user": "ann"}\n'
        "connect.sid=s%3Aqwerty redirect\n"
        "processed=5 assessment=good"
    )
    joined = "\n".join(lines)
    for secret in ("abc123xyz", "9f8e7d6c", "s-0001-secret", "s%3Aqwerty"):
        assert secret not in joined
    assert '"user": "ann"' in joined and lines[-1] == "processed=5 assessment=good"
